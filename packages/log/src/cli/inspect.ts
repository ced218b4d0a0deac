import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { decodeCursorFile } from '../cursor.js';
import { lockHolder } from '../lock.js';
import { listSegments, scanSegment } from './segment-reader.js';

/** What `q-log inspect` shows of a log directory. */
export interface InspectReport {
  readonly dir: string;
  /** The writer holding `dir/LOCK`, if the file exists. */
  readonly lock: { readonly pid: number | undefined; readonly alive: boolean; readonly startedAt?: number } | null;
  readonly segments: {
    readonly name: string;
    readonly firstSeq: number;
    /** One past its last record (for the last segment: its last whole record on disk now). */
    readonly nextSeq: number;
    readonly bytes: number;
    readonly indexBytes: number | null;
  }[];
  readonly firstSeq: number | null;
  readonly nextSeq: number | null;
  readonly bytes: number;
  readonly cursors: { readonly name: string; readonly position: number | null; readonly error?: string }[];
}

/**
 * Reads a log directory's layout read-only: segments (an earlier segment ends where the next
 * begins; the last one is scanned), cursors and the lock holder.
 */
export async function inspectLog(dir: string): Promise<InspectReport> {
  const files = await listSegments(dir);
  const segments: InspectReport['segments'][number][] = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i] as (typeof files)[number];
    const following = files[i + 1];
    let nextSeq = following?.firstSeq ?? f.firstSeq;
    if (following === undefined) {
      for await (const item of scanSegment(f.path, { decode: false })) {
        if (item.kind !== 'record') break;
        nextSeq = item.seq + 1;
      }
    }
    segments.push({ name: f.name, firstSeq: f.firstSeq, nextSeq, bytes: f.bytes, indexBytes: f.indexBytes ?? null });
  }
  return {
    dir,
    lock: await lockHolder(dir),
    segments,
    firstSeq: segments[0]?.firstSeq ?? null,
    nextSeq: segments.at(-1)?.nextSeq ?? null,
    bytes: segments.reduce((n, s) => n + s.bytes + (s.indexBytes ?? 0), 0),
    cursors: await readCursors(dir),
  };
}

async function readCursors(dir: string): Promise<InspectReport['cursors']> {
  let names: string[];
  try {
    names = await fsp.readdir(join(dir, 'cursors'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: InspectReport['cursors'][number][] = [];
  for (const file of names.filter((n) => n.endsWith('.cur')).sort()) {
    const name = file.slice(0, -'.cur'.length);
    try {
      out.push({ name, position: decodeCursorFile(await fsp.readFile(join(dir, 'cursors', file))) });
    } catch (error) {
      out.push({ name, position: null, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return out;
}

/** The report as text, one fact per line. */
export function formatInspect(r: InspectReport): string {
  const lines = [`log ${r.dir}`];
  if (r.lock === null) lines.push('lock: none (no writer)');
  else if (r.lock.pid === undefined) lines.push('lock: torn lock file (no writer; openLog takes it over)');
  else {
    const since = r.lock.startedAt === undefined ? '' : `, process started ${new Date(r.lock.startedAt).toISOString()}`;
    lines.push(`lock: pid ${r.lock.pid} (${r.lock.alive ? 'alive' : 'dead: openLog takes it over'}${since})`);
  }
  lines.push(`first seq: ${r.firstSeq ?? '-'}`, `next seq: ${r.nextSeq ?? '-'}`, `bytes: ${r.bytes}`);
  lines.push(`segments: ${r.segments.length}`);
  for (const s of r.segments) {
    const index = s.indexBytes === null ? 'no index' : `index ${s.indexBytes} B`;
    lines.push(`  ${s.name}  seqs ${s.firstSeq}..${s.nextSeq - 1} (${s.nextSeq - s.firstSeq})  ${s.bytes} B  ${index}`);
  }
  lines.push(`cursors: ${r.cursors.length}`);
  for (const c of r.cursors)
    lines.push(`  ${c.name}  ${c.position === null ? `unreadable: ${c.error}` : `position ${c.position}`}`);
  return `${lines.join('\n')}\n`;
}
