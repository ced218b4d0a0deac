import { setTimeout as sleep } from 'node:timers/promises';
import type { LogRecord } from '../record.js';
import { segmentEnd } from './segment-end.js';
import { listSegments, type SegmentFile, scanSegment } from './segment-reader.js';

/** Options of {@link tailLog}. */
export interface TailOptions {
  /** First seq to print (records before it are skipped; a seq retention deleted starts at the first kept). */
  readonly from: number;
  /** Stop after this many records. */
  readonly max: number;
  /** Keep waiting for new records at the end (polled every `pollMs`) until `signal` aborts. */
  readonly follow: boolean;
  readonly pollMs: number;
  readonly signal: AbortSignal;
}

/**
 * Calls `print` for every whole record from `from` on, reading the segment files read-only (no
 * lock, so beside a live writer). Stops at the end, at a bad frame (it reports where) or, with
 * `follow`, when `signal` aborts; an incomplete frame at the end is waited for when following.
 * Returns the next seq it would print.
 */
export async function tailLog(
  dir: string,
  o: TailOptions,
  print: (record: LogRecord) => void,
): Promise<{ next: number; printed: number; stoppedAt?: { file: string; offset: number; reason: string } }> {
  let next = o.from;
  let printed = 0;
  // Where to resume inside the current segment: its first seq and the next frame's offset.
  let at = { firstSeq: -1, offset: 0 };
  while (!o.signal.aborted && printed < o.max) {
    const segments = await listSegments(dir);
    const seg = pick(segments, next);
    let progressed = false;
    if (seg !== undefined) {
      if (at.firstSeq !== seg.firstSeq) at = { firstSeq: seg.firstSeq, offset: 0 };
      for await (const item of scanSegment(seg.path, at.offset === 0 ? {} : { from: at.offset })) {
        if (item.kind === 'record') {
          at.offset = item.offset + item.size;
          progressed = true;
          if (item.seq < next) continue;
          print(item.record as LogRecord);
          next = item.seq + 1;
          if (++printed >= o.max) break;
          continue;
        }
        // A write under way or a torn tail (which the next openLog cuts): the end for now.
        if (item.kind === 'incomplete') break;
        // In the last segment of a zero-filled log a write under way shows as a whole-length frame not
        // yet all copied (reads are not atomic against a write), and its end as zeros: with nothing
        // valid after it, that is the end for now too. Anywhere else it is damage.
        if (item.kind !== 'header' && seg === segments.at(-1) && (await endOfWrites(seg.path, item.offset, next)))
          break;
        return { next, printed, stoppedAt: { file: seg.name, offset: item.offset, reason: describe(item) } };
      }
    }
    // After a segment's last record, `next` is the first seq of the one after it (if any yet).
    if (progressed) continue;
    if (!o.follow) break;
    await sleep(o.pollMs, undefined, { signal: o.signal }).catch(() => undefined);
  }
  return { next, printed };
}

/** Whether, in a zero-filled segment, `from` is where its writes end for now: no valid frame after it. */
async function endOfWrites(path: string, from: number, minSeq: number): Promise<boolean> {
  const { zeroFilled, follows } = await segmentEnd(path, from, minSeq);
  return zeroFilled && (follows === 'zero-filled tail' || follows === 'torn tail');
}

/** The segment holding `seq`: the last whose first seq is at or below it, else the first (retention passed it). */
function pick(segments: readonly SegmentFile[], seq: number): SegmentFile | undefined {
  let found: SegmentFile | undefined;
  for (const s of segments) {
    if (s.firstSeq > seq) break;
    found = s;
  }
  return found ?? segments[0];
}

function describe(item: { kind: string; reason?: string }): string {
  if (item.kind === 'bad') return `bad record (${item.reason})`;
  if (item.kind === 'header') return `bad segment header (${item.reason})`;
  if (item.kind === 'zeros') return 'zeros where a record should start';
  return 'incomplete record before the end of the log';
}

/** Whether a body reads as text: valid UTF-8 without control characters other than tab and newlines. */
export function isText(body: Buffer): boolean {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return false;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for.
  return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text);
}

/** A record as one line of text: seq, ISO time, headers as JSON, then the body (JSON string, or base64/hex). */
export function formatRecord(r: LogRecord, binary: 'base64' | 'hex'): string {
  const headers = Object.keys(r.headers).length === 0 ? '{}' : JSON.stringify(r.headers);
  const body = isText(r.body) ? JSON.stringify(r.body.toString('utf8')) : `${binary}:${r.body.toString(binary)}`;
  return `${r.seq} ${new Date(r.timestamp).toISOString()} ${headers} ${body}`;
}

/** A record as a JSON line: `body` is text when it reads as text, else encoded as `encoding` says. */
export function formatRecordJson(r: LogRecord, binary: 'base64' | 'hex'): string {
  const text = isText(r.body);
  return JSON.stringify({
    seq: r.seq,
    timestamp: r.timestamp,
    time: new Date(r.timestamp).toISOString(),
    headers: r.headers,
    encoding: text ? 'utf8' : binary,
    body: text ? r.body.toString('utf8') : r.body.toString(binary),
  });
}
