import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PAIRINGS, type Pairing, RATE_UNIT, UNITS } from './chart-pairs.js';
import { type ChartBar, type ChartGroup, type ChartModel, compact, renderChart } from './svg-chart.js';

/** The shape every suite writes to bench/results/<suite>.json (extra top-level strings allowed). */
export interface SuiteReport {
  suite: string;
  machine: string;
  node: string;
  date: string;
  results: ({ name: string } & Record<string, number | string>)[];
  ratios: Record<string, number>;
  [extra: string]: unknown;
}

/** A ratio's target, read from its name: `… (target >= 0.8)`. */
export interface Target {
  op: '>=' | '<=';
  value: number;
  /** As written, e.g. `5,000,000`. */
  text: string;
}

const TARGET = /\s*\(target ([<>]=) ([\d,.]+)\)\s*$/;

/** Splits `batch path / fastq (target >= 6)` into its name and target. */
export function parseRatioName(key: string): { name: string; target?: Target } {
  const m = TARGET.exec(key);
  if (!m) return { name: key.trim() };
  const text = m[2] as string;
  return {
    name: key.slice(0, m.index).trim(),
    target: { op: m[1] as Target['op'], value: Number(text.replace(/,/g, '')), text },
  };
}

const passes = (value: number, t: Target): boolean => (t.op === '>=' ? value >= t.value : value <= t.value);
const sign = (t: Target): string => (t.op === '>=' ? '≥' : '≤');

/** The problems that keep a ratio's bars from being drawn (unknown ratio, missing case or number). */
export function pairingProblems(report: SuiteReport): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(report.ratios)) {
    const { name } = parseRatioName(key);
    const pairing = PAIRINGS[report.suite]?.[name];
    if (!pairing) problems.push(`${report.suite}: no pairing for ratio "${name}" in bench/lib/chart-pairs.ts`);
    else
      for (const side of [pairing.ours, pairing.peer]) {
        if (side && measured(report, side) === undefined)
          problems.push(
            `${report.suite}: ratio "${name}": no ${side.field ?? 'messagesPerSecond'} of case "${side.case}"`,
          );
      }
  }
  return problems;
}

function measured(report: SuiteReport, side: { case: string; field?: string }): number | undefined {
  const value = report.results.find((r) => r.name === side.case)?.[side.field ?? 'messagesPerSecond'];
  return typeof value === 'number' ? value : undefined;
}

function unitOf(report: SuiteReport, field = 'messagesPerSecond'): string {
  return (field === 'messagesPerSecond' ? RATE_UNIT[report.suite] : undefined) ?? UNITS[field] ?? field;
}

function barsOf(report: SuiteReport, pairing: Pairing | undefined, target: Target | undefined): ChartBar[] {
  if (!pairing) return [];
  const bars: ChartBar[] = [];
  for (const [side, kind] of [
    [pairing.ours, 'ours'],
    [pairing.peer, 'peer'],
  ] as const) {
    const value = side ? measured(report, side) : undefined;
    if (side && value !== undefined)
      bars.push({ label: side.label ?? side.case, value, unit: unitOf(report, side.field), kind });
  }
  // A value with a target and nothing to compare with: the target is the other bar.
  if (!pairing.peer && target && bars[0])
    bars.push({ ...bars[0], label: 'target', value: target.value, kind: 'target' });
  return bars;
}

/** The chart of one suite: a group per ratio, then the cases no ratio compares. */
export function suiteChartModel(report: SuiteReport): ChartModel {
  // Cases whose rate a ratio already shows; the others get a group of their own at the end.
  const drawn = new Set<string>();
  const groups: ChartGroup[] = Object.entries(report.ratios).map(([key, value]) => {
    const { name, target } = parseRatioName(key);
    const pairing = PAIRINGS[report.suite]?.[name];
    for (const side of [pairing?.ours, pairing?.peer])
      if (side && (side.field ?? 'messagesPerSecond') === 'messagesPerSecond') drawn.add(side.case);
    const shown = value >= 10_000 ? compact(value) : String(value);
    return {
      heading: name,
      verdict: target ? `${shown} (target ${sign(target)} ${target.text})` : `${shown} (no target)`,
      pass: target ? passes(value, target) : undefined,
      bars: barsOf(report, pairing, target),
    };
  });
  const others = report.results.filter((r) => !drawn.has(r.name) && typeof r.messagesPerSecond === 'number');
  if (others.length > 0)
    groups.push({
      heading: 'the other cases (no ratio)',
      verdict: '',
      bars: others.map((r) => ({
        label: r.name,
        value: r.messagesPerSecond as number,
        unit: unitOf(report),
        kind: r.name.startsWith('ours') || /queue|pusher|executor/i.test(r.name) ? 'ours' : 'peer',
      })),
    });
  const extras = Object.entries(report)
    .filter(([k, v]) => typeof v === 'string' && !['suite', 'machine', 'node', 'date'].includes(k))
    .map(([k, v]) => `, ${k} ${v}`)
    .join('');
  return {
    title: `pnpm bench ${report.suite}`,
    caption: [
      `${report.machine}, Node ${report.node.replace(/^v/, '')}${extras}; measured ${report.date.slice(0, 10)}`,
      'Best run of each case. Each group is on its own linear scale; the ratio is the one the suite computed.',
    ],
    groups,
  };
}

/** Reads bench/results/<suite>.json under `resultsDir` and writes <suite>.svg beside it; returns its path. */
export function writeSuiteChart(resultsDir: string, suite: string): string {
  const report = JSON.parse(readFileSync(join(resultsDir, `${suite}.json`), 'utf8')) as SuiteReport;
  for (const problem of pairingProblems(report)) process.stderr.write(`chart: ${problem}\n`);
  const file = join(resultsDir, `${suite}.svg`);
  writeFileSync(file, renderChart(suiteChartModel(report)));
  return file;
}
