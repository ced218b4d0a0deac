/**
 * `node --import tsx bench/charts.ts [suite...]`: draws bench/results/<suite>.svg from
 * bench/results/<suite>.json, for the named suites or every result there is. `pnpm bench` does this
 * after each suite; run it alone to redraw from the committed results without measuring again.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { writeSuiteChart } from './lib/suite-chart.js';

const results = fileURLToPath(new URL('./results/', import.meta.url));
const available = readdirSync(results)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const suite of wanted.length > 0 ? wanted : available) {
  if (!available.includes(suite)) {
    console.error(`no bench/results/${suite}.json; there are: ${available.join(', ')}`);
    process.exit(2);
  }
  console.error(`chart: ${writeSuiteChart(results, suite)}`);
}
