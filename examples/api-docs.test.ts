import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const committed = join(root, 'docs', 'api');
const REGENERATE = 'regenerate with `pnpm docs:api` (typedoc with ./typedoc.json) and commit docs/api';

/** Every file under `dir`, as paths relative to it, sorted. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** The first line where `a` and `b` differ, both versions, for the failure message. */
function firstDifference(a: string, b: string): string {
  const left = a.split('\n');
  const right = b.split('\n');
  const at = left.findIndex((line, i) => line !== right[i]);
  const line = at === -1 ? left.length : at;
  return `line ${line + 1}: committed ${JSON.stringify(left[line] ?? '<end>')}, generated ${JSON.stringify(right[line] ?? '<end>')}`;
}

describe('API reference (docs/api)', () => {
  it('typedoc builds it from the TSDoc of every public entry point without a warning, and it matches the committed copy', () => {
    const out = mkdtempSync(join(tmpdir(), 'q-api-docs-'));
    try {
      const typedoc = join(dirname(createRequire(import.meta.url).resolve('typedoc/package.json')), 'bin', 'typedoc');
      // The CLI with ./typedoc.json; the strict settings are repeated here so the config cannot loosen them.
      const r = spawnSync(
        process.execPath,
        [
          typedoc,
          '--options',
          'typedoc.json',
          '--out',
          out,
          '--treatWarningsAsErrors',
          '--validation.notExported',
          '--validation.invalidLink',
          '--validation.notDocumented',
        ],
        { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
      );
      const output = stripVTControlCharacters(`${r.stdout}${r.stderr}`);
      const problems = output.split('\n').filter((line) => /^\[(warning|error)\]/.test(line));
      expect(problems, 'typedoc warnings: every export needs TSDoc, every {@link} must resolve').toEqual([]);
      expect(r.status, output).toBe(0);

      const generated = files(out);
      expect(generated.length).toBeGreaterThan(0);
      expect(files(committed), `docs/api lists other files than typedoc generates: ${REGENERATE}`).toEqual(generated);
      for (const file of generated) {
        const want = readFileSync(join(out, file), 'utf8');
        const have = readFileSync(join(committed, file), 'utf8');
        if (have !== want) expect.fail(`docs/api/${file} is stale (${firstDifference(have, want)}): ${REGENERATE}`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
