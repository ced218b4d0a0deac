import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, inject, it } from 'vitest';

// A service bundled into one file, the way it is deployed (a container or a lambda with no
// node_modules): @q/core, @q/redis and ioredis all inside. Run from a directory that holds nothing
// else, under Node's permission model allowing reads of the bundle alone, it shows @q/redis reads no
// file at runtime (its Lua scripts are embedded at build time).

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'q-bundle-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// `--permission` from Node 23.5, `--experimental-permission` before.
const permission = process.allowedNodeEnvironmentFlags.has('--permission')
  ? '--permission'
  : '--experimental-permission';

/** Runs a file with file reads allowed for that file only. */
function runConfined(file: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [permission, `--allow-fs-read=${file}`, file], {
    cwd: work,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('an esbuild bundle of a Redis service', () => {
  it('examples/redis-at-least-once.ts, bundled with ioredis, moves every message reading no file but itself', async () => {
    const outfile = join(work, 'service.mjs');
    const result = await build({
      entryPoints: [join(root, 'examples/redis-at-least-once.ts')],
      absWorkingDir: root,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // The workspace packages' TypeScript sources, as the other tests use them (no build needed).
      conditions: ['@q/source'],
      // ioredis and its dependencies are CommonJS and require Node's built-ins, which an ES module
      // bundle can only do through a require of its own.
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      outfile,
      metafile: true,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('packages/redis/src/lua-scripts.generated.ts');
    expect(inputs.some((file) => file.includes('node_modules/ioredis/'))).toBe(true);
    expect(inputs.filter((file) => file.endsWith('.lua'))).toEqual([]);

    const run = runConfined(outfile, { REDIS_URL: inject('redisUrl') });
    expect(run.stderr).not.toContain('ERR_ACCESS_DENIED');
    expect(run.stdout).toContain('redis example: 10000 of 10000 messages consumed at least once');
    expect(run.status).toBe(0);
  }, 60_000);

  it('the confinement it runs under does stop a file read', () => {
    const file = join(work, 'reads.mjs');
    writeFileSync(
      file,
      "import { readFileSync } from 'node:fs';\nreadFileSync(new URL('./other.txt', import.meta.url));\n",
    );
    writeFileSync(join(work, 'other.txt'), 'x');
    const run = runConfined(file);
    expect(run.stderr).toContain('ERR_ACCESS_DENIED');
    expect(run.status).not.toBe(0);
  });
});
