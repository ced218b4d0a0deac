import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The packages as npm users get them: each package built and packed (`pnpm pack` rewrites the
// `workspace:*` ranges), the tarballs installed with plain npm into a project outside the workspace,
// a program type-checked with `tsc --strict` (node16 resolution) against the packed .d.ts files and run.
// The build happens in a copy of the workspace, so the dist/ of this checkout (which the testkit's
// launcher may be running from in a parallel test) is never rewritten.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const packages = ['core', 'redis', 'kafka', 'kafka-testkit'];
const work = mkdtempSync(join(tmpdir(), 'q-tarballs-'));
const env = {
  ...process.env,
  PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}`,
  npm_config_loglevel: 'error',
};
const run = (cwd: string, cmd: string, args: string[]) =>
  execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const program = `import { Queue } from '@q/core';
import { KafkaPusher } from '@q/kafka';
import { startKafkaBroker } from '@q/kafka-testkit';
import { RedisListPusher } from '@q/redis';

let next = 0;
const seen = new Set<number>();
const queue: Queue<number> = new Queue<number>(
  () => ({
    produce: (signal: AbortSignal) =>
      next < 100 ? next++ : new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined))),
  }),
  () => ({
    consume: async (n: number) => {
      seen.add(n);
      if (seen.size === 100) void queue.stop();
    },
  }),
  { capacity: 16 },
);
await queue.start();
console.log(JSON.stringify({ distinct: seen.size, adapters: [RedisListPusher, KafkaPusher, startKafkaBroker].map((f) => typeof f) }));
`;

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed packages', () => {
  it('install with npm into a fresh project, type-check under tsc --strict (node16) and move 100 messages', () => {
    const ws = join(work, 'workspace');
    for (const file of ['package.json', 'pnpm-workspace.yaml', 'tsconfig.base.json']) {
      cpSync(join(root, file), join(ws, file));
    }
    symlinkSync(join(root, 'node_modules'), join(ws, 'node_modules'));
    for (const name of packages) {
      const from = join(root, 'packages', name);
      // node_modules as pnpm made them: relative links, so @q/* points into the copy.
      cpSync(from, join(ws, 'packages', name), {
        recursive: true,
        verbatimSymlinks: true,
        filter: (src) => !/[/\\](dist|test|\.vite-temp)$/.test(src),
      });
    }
    const tarballs = join(work, 'tarballs');
    mkdirSync(tarballs);
    const pnpm = ['--yes', 'pnpm@10.34.8', '--recursive', '--filter', './packages/**'];
    run(ws, 'npx', [...pnpm, 'run', 'build']);
    run(ws, 'npx', [...pnpm, 'pack', '--pack-destination', tarballs]);
    const packed = readdirSync(tarballs).sort();
    expect(packed).toEqual(['q-core-0.1.0.tgz', 'q-kafka-0.1.0.tgz', 'q-kafka-testkit-0.1.0.tgz', 'q-redis-0.1.0.tgz']);

    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    writeFileSync(join(app, 'main.ts'), program);
    run(app, 'npm', [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      ...packed.map((t) => join(tarballs, t)),
      'ioredis@5.11.1',
      'kafkajs@2.2.4',
      'typescript@5.9.3',
      '@types/node@20',
    ]);
    expect(existsSync(join(app, 'node_modules/@q/redis/dist/lua'))).toBe(false);
    run(app, join(app, 'node_modules/.bin/tsc'), [
      '--strict',
      '--module',
      'node16',
      '--moduleResolution',
      'node16',
      '--target',
      'es2022',
      '--outDir',
      'out',
      'main.ts',
    ]);
    const out = run(app, process.execPath, ['out/main.js']);
    expect(JSON.parse(out.trim())).toEqual({ distinct: 100, adapters: ['function', 'function', 'function'] });
  }, 90_000);
});
