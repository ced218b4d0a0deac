import { promises as fsp } from 'node:fs';
import { decodeSegmentHeader, SEGMENT_HEADER_BYTES, SEGMENT_ZERO_FILLED } from '../format.js';
import { readFully } from '../fs-util.js';
import { type StopFollowedBy, whatFollows } from '../zero-tail.js';

/**
 * What follows `from`, where the scan of the segment at `path` stopped, by the rule recovery applies to
 * the last segment ({@link whatFollows}), and whether the segment is zero-filled: one open of the file.
 */
export async function segmentEnd(
  path: string,
  from: number,
  minSeq: number,
): Promise<{ readonly zeroFilled: boolean; readonly follows: StopFollowedBy['kind'] }> {
  const fh = await fsp.open(path, 'r');
  try {
    const head = Buffer.alloc(SEGMENT_HEADER_BYTES);
    const header = decodeSegmentHeader(head.subarray(0, await readFully(fh.fd, head, 0, SEGMENT_HEADER_BYTES, 0)));
    const zeroFilled = !('error' in header) && (header.flags & SEGMENT_ZERO_FILLED) !== 0;
    const follows = await whatFollows(fh.fd, from, (await fh.stat()).size, minSeq, zeroFilled);
    return { zeroFilled, follows: follows.kind };
  } finally {
    await fh.close();
  }
}
