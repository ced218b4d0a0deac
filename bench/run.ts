/**
 * `pnpm bench [suite...]`: runs the named benchmark suites (all when none is named), each of which
 * prints its table and writes bench/results/<suite>.json.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const suites = wanted.length > 0 ? wanted : available;
for (const suite of suites) {
  if (!available.includes(suite)) {
    console.error(`unknown suite "${suite}"; available: ${available.join(', ')}`);
    process.exit(2);
  }
  const r = spawnSync(process.execPath, [...process.execArgv, `${here}${suite}.ts`], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
