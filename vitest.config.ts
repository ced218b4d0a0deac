import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));
// Tests run against the TypeScript sources of every workspace package, never a stale build.
// `@q/x` is its index, `@q/x/internal` its internal.ts (the `@q/source` condition of each package.json).
const alias = readdirSync(packagesDir).flatMap((dir) => [
  { find: new RegExp(`^@q/${dir}$`), replacement: `${packagesDir}${dir}/src/index.ts` },
  { find: new RegExp(`^@q/${dir}/internal$`), replacement: `${packagesDir}${dir}/src/internal.ts` },
]);

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/**/*.test.ts', 'bench/**/*.test.ts'],
    globalSetup: ['packages/redis/test/support/global-setup.ts', 'test-support/rabbitmq-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default (cores - 1) runs one file at a time on 2 cores; most files wait on child
    // processes (brokers, redis-server, workers it kills) more than they compute, so two at a time
    // halve the run there without starving either.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ['default'],
  },
});
