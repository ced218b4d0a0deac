import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Every `.ts` file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('error codes', () => {
  it('every code an error class declares is in docs/errors.md, and every documented code exists', () => {
    const declared = new Set<string>();
    for (const pkg of readdirSync(join(root, 'packages'))) {
      for (const file of sources(join(root, 'packages', pkg, 'src'))) {
        for (const m of readFileSync(file, 'utf8').matchAll(/readonly code: string = '(Q_[A-Z_]+)'/g))
          declared.add(m[1] as string);
      }
    }
    const documented = new Set(
      [...readFileSync(join(root, 'docs/errors.md'), 'utf8').matchAll(/^\| `(Q_[A-Z_]+)` \|/gm)].map(
        (m) => m[1] as string,
      ),
    );
    expect(declared.size).toBeGreaterThan(10);
    expect([...declared].sort()).toEqual([...documented].sort());
  });

  it('every error class exported by a package declares its own code', () => {
    let classes = 0;
    for (const pkg of readdirSync(join(root, 'packages'))) {
      for (const file of sources(join(root, 'packages', pkg, 'src'))) {
        const text = readFileSync(file, 'utf8');
        // Classes extending plain Error are internal (the test broker's, the blocking connection's).
        for (const m of text.matchAll(/export class (\w+) extends QueueError \{([\s\S]*?)\n\}/g)) {
          classes++;
          expect(m[2], `${m[1]} in ${file}`).toMatch(/readonly code: string = 'Q_/);
        }
      }
    }
    expect(classes).toBeGreaterThan(10);
  });
});
