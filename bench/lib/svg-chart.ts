/**
 * A horizontal bar chart as an SVG string: groups of bars (ours, a peer, or a target), each group
 * headed by what it compares and the measured ratio, coloured by whether it meets its target.
 * Plain string building, so the committed files diff as text and need nothing installed.
 */

/** One bar: `ours` is drawn solid blue, `peer` grey, `target` as a dashed outline. */
export interface ChartBar {
  label: string;
  value: number;
  unit: string;
  kind: 'ours' | 'peer' | 'target';
}

/** A group of bars on one scale, with the ratio it stands for. */
export interface ChartGroup {
  heading: string;
  /** The measured ratio or value as printed, e.g. `0.92 (target ≥ 0.8)`. */
  verdict: string;
  /** Met the target (true), missed it (false), or has none (undefined). */
  pass?: boolean;
  bars: ChartBar[];
}

/** What {@link renderChart} draws. */
export interface ChartModel {
  title: string;
  /** Lines under the title: the machine, the method. */
  caption: string[];
  groups: ChartGroup[];
}

const WIDTH = 960;
const MARGIN = 16;
const LABEL_WIDTH = 372;
const BAR_X = MARGIN + LABEL_WIDTH;
const BAR_MAX = 370;
const ROW = 20;
const HEADING = 24;
const GAP = 14;
const FONT = 'Helvetica, Arial, sans-serif';
// About the width of a character at 12 px in the usual sans-serif faces; longer labels are cut.
const LABEL_CHARS = Math.floor(LABEL_WIDTH / 7);

export const COLOURS = {
  ours: '#0969da',
  peer: '#8c959f',
  target: '#57606a',
  pass: '#1a7f37',
  fail: '#cf222e',
  none: '#57606a',
  text: '#1f2328',
  muted: '#59636e',
} as const;

/** Escapes text for SVG content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** `128 M`, `45.6 k`, `8,390`, `0.33`: three significant digits from 10,000 on, below it the number. */
export function compact(n: number): string {
  const [scaled, unit] = Math.abs(n) >= 1e6 ? [n / 1e6, ' M'] : Math.abs(n) >= 1e4 ? [n / 1e3, ' k'] : [n, ''];
  const rounded =
    Number.isInteger(scaled) || Math.abs(scaled) >= 100 ? Math.round(scaled) : Number(scaled.toPrecision(3));
  return `${rounded.toLocaleString('en-US')}${unit}`;
}

const text = (x: number, y: number, content: string, attrs = ''): string =>
  `<text x="${x}" y="${y}"${attrs ? ` ${attrs}` : ''}>${escapeXml(content)}</text>`;

const cut = (label: string, chars: number): string => (label.length > chars ? `${label.slice(0, chars - 1)}…` : label);

function legend(y: number): string {
  const items: [string, string][] = [
    ['ours', `fill="${COLOURS.ours}"`],
    ['peer / baseline', `fill="${COLOURS.peer}"`],
    ['target', `fill="none" stroke="${COLOURS.target}" stroke-dasharray="3 2"`],
  ];
  let x = MARGIN;
  const parts = items.map(([label, style]) => {
    const part = `<rect x="${x}" y="${y - 10}" width="14" height="10" ${style}/>${text(x + 20, y, label)}`;
    x += 34 + label.length * 6.6;
    return part;
  });
  parts.push(text(x, y, '✓ meets its target', `fill="${COLOURS.pass}" font-weight="bold"`));
  parts.push(text(x + 140, y, '✗ misses it', `fill="${COLOURS.fail}" font-weight="bold"`));
  return parts.join('');
}

function bar(b: ChartBar, y: number, max: number): string {
  const width = max > 0 ? Math.max(1.5, (b.value / max) * BAR_MAX) : 1.5;
  const style =
    b.kind === 'target'
      ? `fill="none" stroke="${COLOURS.target}" stroke-dasharray="3 2"`
      : `fill="${b.kind === 'ours' ? COLOURS.ours : COLOURS.peer}"`;
  const value = `${b.kind === 'target' ? 'target ' : ''}${compact(b.value)} ${b.unit}`.trim();
  return (
    `<g><title>${escapeXml(`${b.label}: ${b.value.toLocaleString('en-US')} ${b.unit}`)}</title>` +
    text(MARGIN + 10, y + 12, cut(b.label, LABEL_CHARS - 2)) +
    `<rect x="${BAR_X}" y="${y + 2}" width="${width.toFixed(1)}" height="${ROW - 6}" ${style}/>` +
    text(BAR_X + width + 6, y + 12, value, `fill="${COLOURS.muted}"`) +
    '</g>'
  );
}

function group(g: ChartGroup, y: number): { svg: string; height: number } {
  const colour = g.pass === undefined ? COLOURS.none : g.pass ? COLOURS.pass : COLOURS.fail;
  const mark = g.pass === undefined ? '' : g.pass ? ' ✓' : ' ✗';
  const max = Math.max(0, ...g.bars.map((b) => b.value));
  const height = HEADING + g.bars.length * ROW;
  const parts = [
    `<rect x="${MARGIN}" y="${y + 4}" width="3" height="${height - 6}" fill="${colour}"/>`,
    text(MARGIN + 10, y + 16, g.heading, 'font-weight="bold"'),
    text(WIDTH - MARGIN, y + 16, `${g.verdict}${mark}`, `text-anchor="end" font-weight="bold" fill="${colour}"`),
    ...g.bars.map((b, i) => bar(b, y + HEADING + i * ROW, max)),
  ];
  return { svg: `<g>${parts.join('')}</g>`, height };
}

/** Renders the chart; the height follows from the groups. */
export function renderChart(model: ChartModel): string {
  const body: string[] = [];
  let y = 30;
  body.push(text(MARGIN, y, model.title, 'font-size="18" font-weight="bold"'));
  for (const line of model.caption) {
    y += 18;
    body.push(text(MARGIN, y, line, `fill="${COLOURS.muted}"`));
  }
  y += 24;
  body.push(legend(y));
  y += 14;
  for (const g of model.groups) {
    const drawn = group(g, y);
    body.push(drawn.svg);
    y += drawn.height + GAP;
  }
  const height = Math.ceil(y);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT}" font-size="12" fill="${COLOURS.text}">`,
    `<title>${escapeXml(model.title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
