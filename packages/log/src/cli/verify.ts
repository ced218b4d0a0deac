import { readIndexFile } from '../segment-index.js';
import { segmentEnd } from './segment-end.js';
import { listSegments, type SegmentFile, scanSegment } from './segment-reader.js';

/** One finding of {@link verifyLog}. */
export interface VerifyFinding {
  /** `error`: damage `openLog` refuses (or would cut with `onCorruption: 'truncate'`); `note`: what it repairs by itself. */
  readonly level: 'error' | 'note';
  /** The segment (or index) file's name. */
  readonly file: string;
  /** Byte offset in that file. */
  readonly offset: number;
  readonly message: string;
}

/** What {@link verifyLog} found. */
export interface VerifyReport {
  readonly segments: number;
  readonly records: number;
  readonly bytes: number;
  readonly firstSeq: number | undefined;
  readonly nextSeq: number | undefined;
  readonly findings: VerifyFinding[];
}

/**
 * Checks a log directory read-only: every segment's header, every record's CRC-32C and sequence
 * number (contiguous within and across segments), and every index entry against the frame it
 * points to. Takes no lock and writes nothing, so it may run beside a live writer (whose unsynced
 * tail may then show as a note). A torn tail — an incomplete or bad frame at the end of the last
 * segment with nothing valid after it — is what recovery cuts, so it is a note; a bad frame
 * followed by valid ones, or anywhere in an earlier segment, is an error.
 */
export async function verifyLog(dir: string): Promise<VerifyReport> {
  const segments = await listSegments(dir);
  const findings: VerifyFinding[] = [];
  let records = 0;
  let bytes = 0;
  let expected: number | undefined;
  let lastNext: number | undefined;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as SegmentFile;
    const last = i === segments.length - 1;
    bytes += seg.bytes;
    if (expected !== undefined && seg.firstSeq !== expected) {
      findings.push(error(seg.name, 0, `starts at seq ${seg.firstSeq}, the previous segment ended before ${expected}`));
    }
    let next = seg.firstSeq;
    const offsets = new Map<number, number>(); // frame offset -> seq
    let count = 0;
    let scannedEnd = seg.bytes; // where the scan stopped: index entries past it are not checked
    for await (const item of scanSegment(seg.path, { decode: false })) {
      if (item.kind === 'record') {
        const seq = item.seq;
        if (seq !== next) findings.push(error(seg.name, item.offset, `record has seq ${seq}, expected ${next}`));
        offsets.set(item.offset, seq);
        next = seq + 1;
        count++;
        continue;
      }
      scannedEnd = item.offset;
      if (item.kind === 'header') {
        findings.push(error(seg.name, 0, `bad segment header: ${item.reason}`));
        break;
      }
      const end = last ? (await segmentEnd(seg.path, item.offset, next)).follows : 'damage';
      if (end === 'zero-filled tail') {
        findings.push(note(seg.name, item.offset, `zero-filled tail: ${item.bytes} bytes of zeros that openLog cuts`));
        break;
      }
      const what =
        item.kind === 'bad'
          ? `bad record (${item.reason})`
          : item.kind === 'zeros'
            ? 'zeros where a record should start'
            : 'incomplete record';
      if (end === 'torn last write') {
        findings.push(
          note(
            seg.name,
            item.offset,
            `torn last write: ${what}, pieces of one never acknowledged write after it (a power loss), ${item.bytes} bytes that openLog cuts (seq ${next} on)`,
          ),
        );
      } else if (end === 'torn tail') {
        findings.push(
          note(seg.name, item.offset, `torn tail: ${what}, ${item.bytes} bytes that openLog cuts (seq ${next} on)`),
        );
      } else {
        findings.push(error(seg.name, item.offset, `${what} followed by ${last ? 'valid records' : 'more segments'}`));
      }
      break;
    }
    records += count;
    lastNext = next;
    // After damage the records past it are unknown: the next segment's name is all there is to go on.
    expected = scannedEnd === seg.bytes ? next : undefined;
    await checkIndex(seg, offsets, count, scannedEnd, findings);
  }
  return {
    segments: segments.length,
    records,
    bytes,
    firstSeq: segments[0]?.firstSeq,
    nextSeq: lastNext,
    findings,
  };
}

/** Checks a segment's index entries (and seal) against the frames scanned. */
async function checkIndex(
  seg: SegmentFile,
  offsets: ReadonlyMap<number, number>,
  count: number,
  scannedEnd: number,
  findings: VerifyFinding[],
): Promise<void> {
  const file = seg.name.replace(/\.seg$/, '.idx');
  if (seg.indexBytes === undefined) {
    findings.push(note(file, 0, 'index missing: openLog rebuilds it'));
    return;
  }
  const index = await readIndexFile(seg.indexPath);
  let beyond = 0;
  for (let i = 0; i < index.entries.length; i++) {
    const relSeq = index.entries.relSeqs[i] as number;
    const offset = index.entries.offsets[i] as number;
    if (offset >= scannedEnd) {
      // Past a torn tail or damage already reported: nothing to check them against.
      beyond++;
      continue;
    }
    const seq = offsets.get(offset);
    if (seq !== seg.firstSeq + relSeq) {
      findings.push(
        error(
          file,
          i * 16,
          `entry says seq ${seg.firstSeq + relSeq} at byte ${offset}, the segment has ${
            seq === undefined ? 'no record starting there' : `seq ${seq}`
          }`,
        ),
      );
    }
  }
  if (beyond > 0) {
    findings.push(
      note(file, 0, `${beyond} index entries point past where the segment's records end: openLog trims them`),
    );
  }
  if (!index.clean) {
    findings.push(
      note(file, index.entries.length * 16, 'index torn or damaged after its valid entries: openLog rebuilds it'),
    );
  }
  if (
    index.seal !== undefined &&
    scannedEnd === seg.bytes &&
    (index.seal.count !== count || index.seal.size !== seg.bytes)
  ) {
    findings.push(
      error(
        file,
        index.entries.length * 16,
        `seal says ${index.seal.count} records in ${index.seal.size} bytes, the segment has ${count} in ${seg.bytes}`,
      ),
    );
  }
}

function error(file: string, offset: number, message: string): VerifyFinding {
  return { level: 'error', file, offset, message };
}

function note(file: string, offset: number, message: string): VerifyFinding {
  return { level: 'note', file, offset, message };
}
