/**
 * A strict reader of the Prometheus text format (0.0.4) and of OpenMetrics text, enough to check what
 * a scrape returns: every sample line belongs to the family announced by the HELP and TYPE lines
 * before it, with the suffixes its type allows.
 */

/** One sample line. */
export interface ExpositionSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One metric family: its HELP, TYPE and samples. */
export interface ExpositionFamily {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly samples: ExpositionSample[];
}

const SUFFIXES: Record<string, readonly string[]> = {
  counter: ['', '_total'],
  gauge: [''],
  summary: ['', '_sum', '_count'],
  histogram: ['_bucket', '_sum', '_count'],
};

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;

/** Parses an exposition; throws on any line it does not understand. */
export function parseExposition(text: string): Map<string, ExpositionFamily> {
  const families = new Map<string, ExpositionFamily>();
  let current: { name: string; help?: string; type?: string; samples: ExpositionSample[] } | undefined;
  for (const line of text.split('\n')) {
    if (line === '' || line === '# EOF') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (current?.name !== name) {
        if (families.has(name)) throw new Error(`family ${name} announced twice`);
        current = { name, samples: [] };
        families.set(name, current as ExpositionFamily);
      }
      if (kind === 'HELP') current.help = rest;
      else current.type = rest;
      continue;
    }
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    if (current?.type === undefined) throw new Error(`sample before any TYPE line: ${line}`);
    const [, name, , body = '', raw] = m as unknown as [string, string, string, string | undefined, string];
    const suffix = name.slice(current.name.length);
    if (!name.startsWith(current.name) || !(SUFFIXES[current.type] ?? []).includes(suffix)) {
      throw new Error(`sample ${name} outside its family ${current.name} (${current.type})`);
    }
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body);
      if (l === null) throw new Error(`bad labels in: ${line}`);
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = raw === '+Inf' ? Number.POSITIVE_INFINITY : raw === '-Inf' ? Number.NEGATIVE_INFINITY : Number(raw);
    if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`bad value in: ${line}`);
    current.samples.push({ name, labels, value });
  }
  for (const f of families.values()) {
    if (f.help === undefined || f.type === undefined) throw new Error(`family ${f.name} lacks HELP or TYPE`);
  }
  return families;
}

/** The value of the one sample of `name` whose labels include `labels`; throws unless exactly one matches. */
export function sampleValue(
  families: Map<string, ExpositionFamily>,
  name: string,
  labels: Readonly<Record<string, string>>,
): number {
  const matches = [...families.values()]
    .flatMap((f) => f.samples)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length !== 1) throw new Error(`${matches.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return (matches[0] as ExpositionSample).value;
}
