import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs an example the way `pnpm demo` does: node with the tsx loader and the workspace sources. */
function runExample(file: string, env: Record<string, string> = {}): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, ['--conditions=@q/source', '--import', 'tsx', file], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout + r.stderr };
}

describe('examples run as written', () => {
  it('quickstart: 1,000,000 messages, zero-loss check OK', () => {
    const r = runExample('examples/quickstart.ts');
    expect(r.stdout).toContain('zero-loss check: OK');
    expect(r.stdout).toMatch(
      /produced 1000000, consumed 1000000, settled back to the source 1000000, missing 0, duplicates 0/,
    );
    expect(r.status).toBe(0);
  }, 120_000);
});
