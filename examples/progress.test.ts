import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clock, type ProgressStream, progressBar, shortNumber } from './progress.js';

/** What a terminal shows after `text`: `\r` returns to column 0, `\x1b[K` clears to the line's end. */
function screen(text: string): string[] {
  const lines = [''];
  let col = 0;
  for (let i = 0; i < text.length; i++) {
    const row = lines.length - 1;
    const line = lines[row] ?? '';
    if (text.startsWith('\x1b[K', i)) {
      lines[row] = line.slice(0, col);
      i += 2;
    } else if (text[i] === '\r') col = 0;
    else if (text[i] === '\n') {
      lines.push('');
      col = 0;
    } else {
      lines[row] = line.slice(0, col) + text[i] + line.slice(col + 1);
      col++;
    }
  }
  return lines;
}

function fakeStream(isTTY: boolean): ProgressStream & { text: string } {
  return {
    isTTY,
    columns: 100,
    text: '',
    write(chunk: string) {
      this.text += chunk;
      return true;
    },
  };
}

describe('progressBar', () => {
  let now = 0;
  let count = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 0;
    count = 0;
  });
  afterEach(() => vi.useRealTimers());

  /** Moves the clock and the count on together, 100 ms at a time, at `perSecond`. */
  const run = (ms: number, perSecond: number): void => {
    for (let t = 0; t < ms; t += 100) {
      now += 100;
      count += perSecond / 10;
      vi.advanceTimersByTime(100);
    }
  };

  it('without a terminal: a full line (count, share, rate, ETA) every 2 s, log lines whole, a final line', () => {
    const stream = fakeStream(false);
    const bar = progressBar(1_000_000, () => count, { stream, now: () => now });
    run(2000, 100_000);
    bar.log('a line from elsewhere');
    run(2000, 100_000);
    count = 1_000_000;
    now += 1000;
    bar.stop();
    bar.stop();
    expect(stream.text.split('\n')).toEqual([
      '200,000 / 1,000,000   20.0%  100 k msg/s  ETA 0:08',
      'a line from elsewhere',
      '400,000 / 1,000,000   40.0%  100 k msg/s  ETA 0:06',
      '1,000,000 / 1,000,000  100.0%  200 k msg/s  in 0:05',
      '',
    ]);
  });

  it('on a terminal: one line redrawn in place; a log line comes out whole above it and the bar is redrawn', () => {
    const stream = fakeStream(true);
    const bar = progressBar(1_000_000, () => count, { stream, now: () => now });
    run(3000, 137_000);
    let shown = screen(stream.text);
    expect(shown).toEqual([
      '[################........................] 411,000 / 1,000,000   41.1%  137 k msg/s  ETA 0:04',
    ]);
    bar.logger.warn({ partition: 3 }, 'offset commit failed; retrying at the next interval');
    bar.logger.error({}, 'no fields');
    bar.log('second line');
    run(1000, 137_000);
    shown = screen(stream.text);
    expect(shown.slice(0, 3)).toEqual([
      '[q] warn: offset commit failed; retrying at the next interval { partition: 3 }',
      '[q] error: no fields',
      'second line',
    ]);
    expect(shown[3]).toMatch(/^\[#+\.+\] 548,000 \/ 1,000,000 {3}54\.8% {2}137 k msg\/s {2}ETA 0:03$/);
    expect(shown).toHaveLength(4);
    count = 1_000_000;
    bar.stop();
    shown = screen(stream.text);
    expect(shown[3]).toMatch(/^\[#{40}\] 1,000,000 \/ 1,000,000 {2}100\.0% {2}[\d.]+ k msg\/s {2}in 0:04$/);
    expect(shown[4]).toBe('');
    // Nothing wider than the terminal: a wrapped line would break the redraw.
    for (const line of shown) expect(line.length).toBeLessThan(100);
  });

  it('narrows the bar to fit the terminal, and drops it when nothing is left', () => {
    const narrow = { ...fakeStream(true), columns: 60 };
    progressBar(1_000_000, () => 500_000, { stream: narrow, now: () => 0 }).stop();
    const [line] = screen(narrow.text);
    expect(line).toMatch(/^\[#+\.+\] 500,000/);
    expect(line?.length).toBeLessThan(60);
    const tiny = { ...fakeStream(true), columns: 30 };
    progressBar(1_000_000, () => 500_000, { stream: tiny, now: () => 0 }).stop();
    expect(screen(tiny.text)[0]).toBe('500,000 / 1,000,000   50.0%');
  });

  it('formats rates and durations', () => {
    expect([shortNumber(789), shortNumber(45_600), shortNumber(1_234_567), shortNumber(127_919_196)]).toEqual([
      '789',
      '45.6 k',
      '1.23 M',
      '128 M',
    ]);
    expect([clock(0), clock(65_000), clock(3_725_000)]).toEqual(['0:00', '1:05', '1:02:05']);
  });
});
