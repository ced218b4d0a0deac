import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
// Inside the repository (gitignored), so `@q/*` imports resolve through the workspace like the examples'.
const dir = join(root, '.tmp', 'snippets');

/** A ```ts block of a guide: its text and the line of its opening fence. */
interface Snippet {
  doc: string;
  fenceLine: number;
  code: string;
}

/**
 * Every ```ts (or ```typescript) block of README.md, docs/*.md and each package's README.md. Other
 * fences are prose, not compiled.
 */
function snippets(): Snippet[] {
  const docs = [
    'README.md',
    ...readdirSync(join(root, 'docs')).flatMap((f) => (f.endsWith('.md') ? [`docs/${f}`] : [])),
    ...readdirSync(join(root, 'packages')).map((p) => `packages/${p}/README.md`),
  ];
  const found: Snippet[] = [];
  for (const doc of docs) {
    const lines = readFileSync(join(root, doc), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
      const end = lines.findIndex((line, j) => j > i && /^```\s*$/.test(line));
      if (end === -1) throw new Error(`${doc}:${i + 1}: unclosed code block`);
      found.push({ doc, fenceLine: i + 1, code: `${lines.slice(i + 1, end).join('\n')}\n` });
      i = end;
    }
  }
  return found;
}

describe('the TypeScript in the guides compiles', () => {
  it('every ```ts block of README.md, docs/*.md and packages/*/README.md type-checks against the workspace sources', () => {
    const all = snippets();
    expect(all.length).toBeGreaterThan(0);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    // Snippet file line n is line fenceLine + n of its guide.
    const byFile = new Map<string, Snippet>();
    for (const s of all) {
      const file = `${s.doc.replace(/[/.]/g, '_')}_${s.fenceLine}.ts`;
      byFile.set(file, s);
      writeFileSync(join(dir, file), s.code);
    }
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../tsconfig.base.json',
        // Each snippet is a module of its own (top-level await, its own `const queue`).
        compilerOptions: { noEmit: true, moduleDetection: 'force', declaration: false, declarationMap: false },
        include: ['*.ts'],
      }),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const output = `${r.stdout}${r.stderr}`;
    // "<file>(line,col): error TSnnnn: ..." back to "<guide>:<line>:<col>: error TSnnnn: ...".
    const errors = output
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const m = /^(.*?)\((\d+),(\d+)\): (.*)$/.exec(line);
        const s = m ? byFile.get(relative(dir, resolve(root, m[1]!))) : undefined;
        return m && s ? `${s.doc}:${s.fenceLine + Number(m[2])}:${m[3]}: ${m[4]}` : line;
      });
    expect(errors, `tsc on ${all.length} snippets`).toEqual([]);
    expect(r.status).toBe(0);
  }, 60_000);
});
