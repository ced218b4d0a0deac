import { inspect } from 'node:util';
import type { Logger } from '@q/core';

/** Where the progress goes: `process.stderr`, or anything with the same three members. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

/** Options of {@link progressBar}. */
export interface ProgressOptions {
  /** @default process.stderr */
  stream?: ProgressStream;
  /** Milliseconds between lines when the stream is not a terminal. @default 2000 */
  lineEveryMs?: number;
  /** Milliseconds between redraws on a terminal. @default 100 */
  redrawEveryMs?: number;
  /** The clock, in milliseconds. @default performance.now */
  now?: () => number;
}

/** A running progress display. */
export interface Progress {
  /** Writes `line` on its own line (above the bar on a terminal). */
  log(line: string): void;
  /** A `Logger` for @q's `logger` options that writes through {@link Progress.log}, so log lines do not break the bar. */
  readonly logger: Logger;
  /** Draws the final state and ends the line. Idempotent. */
  stop(): void;
}

const RATE_WINDOW_MS = 3000;
const group = (n: number): string => Math.round(n).toLocaleString('en-US');

/** `1.23 M`, `45.6 k`, `789`: three significant digits. */
export function shortNumber(n: number): string {
  const [scaled, unit] = n >= 1e6 ? [n / 1e6, ' M'] : n >= 1e3 ? [n / 1e3, ' k'] : [n, ''];
  return `${scaled >= 100 || unit === '' ? Math.round(scaled) : scaled.toPrecision(3)}${unit}`;
}

/** `m:ss`, or `h:mm:ss` from an hour on. */
export function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  const mmss = `${Math.floor(s / 60) % 60}:${String(s % 60).padStart(2, '0')}`;
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mmss.padStart(5, '0')}` : mmss;
}

/**
 * Shows how far `read()` is towards `total`: count, share, rate and ETA. On a terminal, one line
 * redrawn in place; otherwise a full line every `lineEveryMs` and a final one. Nothing global is
 * touched: lines from elsewhere go through {@link Progress.log} or {@link Progress.logger}.
 */
export function progressBar(total: number, read: () => number, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const tty = stream.isTTY === true;
  const started = now();
  // Recent (time, count) samples: the rate over the last few seconds, which the ETA follows.
  const samples: { t: number; count: number }[] = [{ t: started, count: 0 }];
  let stopped = false;

  const describe = (final: boolean): string => {
    const count = Math.min(read(), total);
    const t = now();
    samples.push({ t, count });
    while (samples.length > 2 && (samples[1]?.t ?? t) <= t - RATE_WINDOW_MS) samples.shift();
    const first = final ? { t: started, count: 0 } : (samples[0] ?? { t: started, count: 0 });
    const rate = t > first.t ? ((count - first.count) / (t - first.t)) * 1000 : 0;
    const share = total > 0 ? count / total : 1;
    const tail = final
      ? `in ${clock(t - started)}`
      : `ETA ${rate > 0 ? clock(((total - count) / rate) * 1000) : '-:--'}`;
    return `${group(count)} / ${group(total)}  ${(share * 100).toFixed(1).padStart(5)}%  ${shortNumber(rate)} msg/s  ${tail}`;
  };

  const barLine = (final: boolean): string => {
    const text = describe(final);
    const columns = stream.columns ?? 80;
    // The bar takes what the text leaves; a line wider than the terminal would wrap and break `\r`.
    const width = Math.min(40, columns - text.length - 4);
    if (width < 5) return text.slice(0, columns - 1).trimEnd();
    const share = Math.min(1, read() / Math.max(total, 1));
    const filled = Math.round(share * width);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`;
  };

  const draw = (): void => void stream.write(`\r${barLine(false)}\x1b[K`);
  const timer = tty
    ? setInterval(draw, options.redrawEveryMs ?? 100)
    : setInterval(() => stream.write(`${describe(false)}\n`), options.lineEveryMs ?? 2000);
  // The display never keeps the process alive.
  timer.unref();
  if (tty) draw();

  const log = (line: string): void => {
    if (!tty || stopped) {
      stream.write(`${line}\n`);
      return;
    }
    stream.write(`\r\x1b[K${line}\n`);
    draw();
  };
  const write =
    (level: string) =>
    (fields: Readonly<Record<string, unknown>>, message: string): void =>
      log(
        `[q] ${level}: ${message}${Object.keys(fields ?? {}).length > 0 ? ` ${inspect(fields, { breakLength: Number.POSITIVE_INFINITY })}` : ''}`,
      );
  const noop = (): void => {};

  return {
    log,
    logger: { error: write('error'), warn: write('warn'), info: noop, debug: noop },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write(tty ? `\r${barLine(true)}\x1b[K\n` : `${describe(true)}\n`);
    },
  };
}
