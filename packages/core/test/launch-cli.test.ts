import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// A workspace package run through its launcher before anything is built (`pnpm exec q-log` in a fresh
// clone): its sources, and its dependencies' sources, since their dist/ does not exist yet either.
const launcher = fileURLToPath(new URL('../launcher/launch-cli.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'q-launch-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(dirname(join(work, path)), { recursive: true });
  writeFileSync(join(work, path), text);
}

function run(bin: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // No --conditions=@q/source and no NODE_OPTIONS: how `pnpm exec` starts a bin.
    const env = { ...process.env, NODE_OPTIONS: '' };
    execFile(process.execPath, [bin], { env, cwd: work }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
  });
}

describe('launchCli in an unbuilt checkout', () => {
  it("runs the command's sources with its workspace dependencies' sources, not their missing dist/", async () => {
    write(
      'node_modules/@q/dep/package.json',
      JSON.stringify({
        name: '@q/dep',
        type: 'module',
        exports: { '.': { '@q/source': './src/index.ts', default: './dist/index.js' } },
      }),
    );
    write('node_modules/@q/dep/src/index.ts', "export const from: string = 'source';\n");
    write('pkg/package.json', JSON.stringify({ name: '@q/pkg', type: 'module' }));
    write('pkg/src/cli/run.ts', "import { from } from '@q/dep';\nconsole.log('dep from ' + from);\n");
    write(
      'pkg/bin/cmd.js',
      `import { launchCli } from ${JSON.stringify(launcher)};\nawait launchCli(import.meta.url, { command: 'cmd', pkg: '@q/pkg', entry: 'cli/run' });\n`,
    );
    const { code, stdout, stderr } = await run(join(work, 'pkg/bin/cmd.js'));
    expect(stderr).not.toContain('ERR_MODULE_NOT_FOUND');
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'dep from source\n' });
  }, 30_000);
});
