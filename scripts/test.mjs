#!/usr/bin/env node
// `pnpm test`: type-check, lint, then every test. Servers the tests need are installed and started
// by the test setup itself (see vitest.config.ts), so this is all CI runs.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';

mkdirSync('.tmp', { recursive: true });
const report = '.tmp/vitest-report.json';

const steps = [
  ['typecheck', ['tsc', '-p', 'tsconfig.json']],
  ['lint', ['biome', 'check', '.']],
  [
    'tests',
    ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  ],
];
for (const [name, [bin, ...args]] of steps) {
  console.log(`\n== ${name}: ${bin} ${args.join(' ')}`);
  const r = spawnSync(bin, args, { stdio: 'inherit', shell: false });
  if (r.error) {
    console.error(`${name} could not start: ${r.error.message}`);
    process.exit(1);
  }
  if (name === 'tests') summarize();
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/** Ends with the plain "N passed, N failed" line that any CI reads, whatever the runner. */
function summarize() {
  try {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    console.log(
      `\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`,
    );
  } catch (error) {
    console.error(`no test report: ${error.message}`);
  }
}
