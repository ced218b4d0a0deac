import { promises as fsp } from 'node:fs';
import { crc32c } from '../crc32c.js';
import { readU32, readU64 } from '../format.js';

/** "QCUR" read as a little-endian u32: the first field of a cursor file (cursor.ts writes them). */
const MAGIC = 0x52554351;
const FILE_BYTES = 16;

/**
 * The position stored in a cursor file (`dir/cursors/<name>.cur`: "QCUR", u64 position, u32
 * CRC-32C of the 12 bytes before), read without taking any lock. Throws, with the reason, when the
 * file is not a whole cursor file (openLog then treats the cursor as new, or as its previous value
 * when a temp file was torn).
 */
export async function readCursorFile(path: string): Promise<number> {
  const buf = await fsp.readFile(path);
  if (buf.length !== FILE_BYTES) throw new Error(`${buf.length} bytes, expected ${FILE_BYTES}`);
  if (readU32(buf, 0) !== MAGIC) throw new Error('bad magic (not a QCUR cursor file)');
  if (readU32(buf, 12) !== crc32c(buf, 0, 12)) throw new Error('checksum mismatch (CRC-32C)');
  const position = readU64(buf, 4);
  if (Number.isNaN(position)) throw new Error('position out of range');
  return position;
}
