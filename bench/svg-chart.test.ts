import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pairingProblems, parseRatioName, type SuiteReport, suiteChartModel } from './lib/suite-chart.js';
import { COLOURS, renderChart } from './lib/svg-chart.js';

const results = fileURLToPath(new URL('./results/', import.meta.url));

/** The open/close tags in order; throws at the first one closed out of turn. */
function checkBalanced(svg: string): number {
  const open: string[] = [];
  let tags = 0;
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    tags++;
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (!closing) open.push(name as string);
    else if (open.pop() !== name) throw new Error(`</${name}> closes something else at ${m.index}`);
  }
  if (open.length > 0) throw new Error(`never closed: ${open.join(', ')}`);
  return tags;
}

const report: SuiteReport = {
  suite: 'core',
  machine: 'Test CPU, 2 cores, 8 GiB, linux-x64',
  node: 'v20.20.2',
  date: '2026-12-02T03:25:02.289Z',
  results: [
    { name: 'queue batch path', messagesPerSecond: 127_919_196, peakRssMiB: 101.4 },
    { name: 'hand-written batch channel (arrays of 256)', messagesPerSecond: 138_434_554, peakRssMiB: 103.1 },
    { name: 'queue one-at-a-time path', messagesPerSecond: 1_777_706, peakRssMiB: 98.5 },
    { name: 'hand-written channel, one promise per message', messagesPerSecond: 2_369_029, peakRssMiB: 98.5 },
    {
      name: 'queue, 10,000,000 messages through capacity 1,024 (memory)',
      messagesPerSecond: 1_927_810,
      peakRssMiB: 66.9,
    },
    { name: 'a case <no ratio> & no peer', messagesPerSecond: 5000, peakRssMiB: 1 },
  ],
  ratios: {
    'batch path / hand-written batch channel (target >= 0.8)': 0.92,
    'one-at-a-time path / promise-per-message channel (target >= 0.8)': 0.75,
    'peak RSS MiB, 10M messages through capacity 1,024 (target <= 100)': 66.9,
    'a ratio nobody paired': 3,
  },
};

describe('bench charts', () => {
  it('reads a target from a ratio name', () => {
    expect(parseRatioName('ChunkExecutor adds/s (target >= 5,000,000)')).toEqual({
      name: 'ChunkExecutor adds/s',
      target: { op: '>=', value: 5_000_000, text: '5,000,000' },
    });
    expect(parseRatioName('produce: broker CPU / client CPU (target <= 0.5)').target?.op).toBe('<=');
    expect(parseRatioName('partition mode / raw eachMessage')).toEqual({ name: 'partition mode / raw eachMessage' });
  });

  it('draws each ratio with its two cases, its value, its target and pass/fail colour, as well-formed SVG', () => {
    const svg = renderChart(suiteChartModel(report));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(checkBalanced(svg)).toBeGreaterThan(40);
    // Every & is an entity: the case name with <, > and & came through escaped.
    expect(svg).not.toMatch(/&(?!amp;|lt;|gt;|quot;)/);
    expect(svg).toContain('a case &lt;no ratio&gt; &amp; no peer');
    for (const r of report.results) {
      if (!r.name.includes('<')) expect(svg).toContain(`>${r.name.length > 50 ? r.name.slice(0, 40) : r.name}`);
    }
    expect(svg).toContain('Test CPU, 2 cores, 8 GiB, linux-x64, Node 20.20.2; measured 2026-12-02');
    const verdict = (text: string): string | undefined =>
      new RegExp(`fill="(#[0-9a-f]{6})">${text.replace(/[()]/g, '\\$&')}`).exec(svg)?.[1];
    expect(verdict('0.92 (target ≥ 0.8) ✓')).toBe(COLOURS.pass);
    expect(verdict('0.75 (target ≥ 0.8) ✗')).toBe(COLOURS.fail);
    expect(verdict('66.9 (target ≤ 100) ✓')).toBe(COLOURS.pass);
    expect(verdict('3 (no target)')).toBe(COLOURS.none);
    expect(svg).toContain('>batch path / hand-written batch channel<');
    expect(svg).toContain('>128 M msg/s<');
    expect(svg).toContain('>138 M msg/s<');
    expect(svg).toContain('>target 100 MiB peak RSS<');
  });

  it('knows the cases behind every ratio of the committed results, and the committed SVGs are up to date', () => {
    const suites = readdirSync(results).filter((f) => f.endsWith('.json'));
    expect(suites.length).toBeGreaterThanOrEqual(5);
    for (const file of suites) {
      const committed = JSON.parse(readFileSync(`${results}${file}`, 'utf8')) as SuiteReport;
      expect(pairingProblems(committed)).toEqual([]);
      const svg = renderChart(suiteChartModel(committed));
      checkBalanced(svg);
      // Redraw with `node --import tsx bench/charts.ts` after changing a result or the chart.
      expect(readFileSync(`${results}${file.replace(/\.json$/, '.svg')}`, 'utf8')).toBe(svg);
    }
  });
});
