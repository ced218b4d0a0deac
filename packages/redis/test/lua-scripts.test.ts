import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LUA_SOURCES } from '../src/lua-scripts.generated.js';

describe('src/lua-scripts.generated.ts', () => {
  it('holds exactly the .lua files (run `node scripts/generate-lua.mjs` in packages/redis after changing one)', () => {
    const dir = new URL('../src/lua/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.lua'));
    expect(Object.keys(LUA_SOURCES).sort()).toEqual(files.sort());
    for (const file of files) {
      expect(LUA_SOURCES[file as keyof typeof LUA_SOURCES], file).toBe(readFileSync(new URL(file, dir), 'utf8'));
    }
  });
});
