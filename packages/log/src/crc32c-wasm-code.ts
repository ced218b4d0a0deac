import { CRC32C_TABLES } from './crc32c.js';

/*
 * The bytes of the CRC-32C WebAssembly module, assembled here from opcodes rather than shipped as a .wasm
 * file, so there is nothing to build or load from disk. Memory: sixteen 256-entry slicing tables at 0, then
 * the staged chunk at DATA. Exports:
 *   c(start, end, previous) -> crc     CRC-32C of [start, end), continuing from `previous`
 *   v(at, end, maxFrames, seqLo, seqHi) -> at'
 *                                      walks the frames from `at`, checking each one's length fields and
 *                                      CRC as `checkFrame` does and its seq (one more than the last), and
 *                                      stops before the first frame that is damaged, out of sequence or
 *                                      not whole in [at, end), or after `maxFrames` frames; it stores
 *                                      at SCRATCH how many of `maxFrames` it did not use
 * Slicing-by-16 (four 32-bit loads, sixteen table look-ups per step) keeps more look-ups in flight than
 * slicing-by-8; one call per chunk for `v` replaces two calls from JavaScript into WebAssembly per frame.
 */

/** Where `v` leaves the count of frames it had left to check (after the sixteen 1 KiB tables). */
export const SCRATCH = 16 * 1024;
/** Where the staged chunk starts in the module's memory. */
export const DATA = SCRATCH + 64;

/** The sixteen slicing tables: table t maps a byte to the CRC of it followed by t zero bytes. */
function tables16(): Int32Array {
  const t = new Int32Array(16 * 256);
  t.set(CRC32C_TABLES.subarray(0, 256));
  for (let k = 1; k < 16; k++) {
    for (let n = 0; n < 256; n++) {
      const c = t[(k - 1) * 256 + n] as number;
      t[k * 256 + n] = (t[c & 0xff] as number) ^ (c >>> 8);
    }
  }
  return t;
}
/** The tables as the module's memory holds them from byte 0. */
export const WASM_TABLES: Readonly<Int32Array> = tables16();

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};

const [BLOCK, LOOP, IF, END, BR, BR_IF, CALL] = [0x02, 0x03, 0x04, 0x0b, 0x0c, 0x0d, 0x10];
const [EQZ, NE, LT_U, GT_U, GE_U] = [0x45, 0x47, 0x49, 0x4b, 0x4f];
const [ADD, SUB, AND, XOR, SHL, SHR_U] = [0x6a, 0x6b, 0x71, 0x73, 0x74, 0x76];
const get = (l: number): number[] => [0x20, l];
const set = (l: number): number[] => [0x21, l];
const tee = (l: number): number[] => [0x22, l];
const i32 = (n: number): number[] => [0x41, ...sleb(n)];
const load = (offset: number): number[] => [0x28, 2, ...uleb(offset)];
const load16 = (offset: number): number[] => [0x2f, 1, ...uleb(offset)];
const load8 = (offset: number): number[] => [0x2d, 0, ...uleb(offset)];
/** `block loop body br 0 end end`: `br_if 1` inside leaves it, `br 0` goes round again. */
const loop = (body: number[]): number[] => [BLOCK, 0x40, LOOP, 0x40, ...body, BR, 0, END, END];
const when = (cond: number[], body: number[]): number[] => [...cond, IF, 0x40, ...body, END];
/** Leaves the enclosing `loop` when `cond` holds. */
const leaveIf = (cond: number[]): number[] => [...cond, BR_IF, 1];
const add = (l: number, n: number): number[] => [...get(l), ...i32(n), ADD, ...set(l)];
/** `end - p < n`, unsigned. */
const lessLeft = (p: number, end: number, n: number): number[] => [...get(end), ...get(p), SUB, ...i32(n), LT_U];

/** tables[table][(v >>> shift) & 0xff]: the byte offset of the entry is (v >>> (shift - 2)) & 0x3fc. */
const look = (v: number, shift: number, table: number): number[] => [
  ...get(v),
  ...(shift === 0 ? [...i32(2), SHL] : [...i32(shift - 2), SHR_U]),
  ...i32(0x3fc),
  AND,
  ...load(table * 1024),
];
/** XOR of the look-ups of a word's four bytes, its first byte in table `top`, as (b0 ^ b1) ^ (b2 ^ b3). */
const wordLooks = (w: number, top: number): number[] => [
  ...look(w, 0, top),
  ...look(w, 8, top - 1),
  XOR,
  ...look(w, 16, top - 2),
  ...look(w, 24, top - 3),
  XOR,
  XOR,
];
/**
 * XOR of the look-ups of all bytes of `words`, the first byte of `words[0]` in table `top`. The first word
 * holds the CRC so far: its look-ups come last and as a tree, so the chain from one step's CRC to the next
 * is a load and three XORs (in a straight XOR chain with the CRC's word first, each step waited for
 * fifteen XORs in a row: about 10 % slower).
 */
const fold = (words: number[], top: number): number[] => {
  const out: number[] = [];
  for (let k = 1; k < words.length; k++) {
    out.push(...wordLooks(words[k] as number, top - 4 * k));
    if (k > 1) out.push(XOR);
  }
  out.push(...wordLooks(words[0] as number, top));
  if (words.length > 1) out.push(XOR);
  return out;
};

/** update(p, end, crc) -> crc over [p, end), the CRC register not inverted (callers invert). */
function updateBody(): number[] {
  const [P, E, C, A, B, D, F] = [0, 1, 2, 3, 4, 5, 6];
  const word = (into: number, offset: number, withCrc: boolean): number[] => [
    ...(withCrc ? get(C) : []),
    ...get(P),
    ...load(offset),
    ...(withCrc ? [XOR] : []),
    ...set(into),
  ];
  return [
    1,
    4,
    0x7f,
    ...loop([
      ...leaveIf(lessLeft(P, E, 16)),
      ...word(A, 0, true),
      ...word(B, 4, false),
      ...word(D, 8, false),
      ...word(F, 12, false),
      ...fold([A, B, D, F], 15),
      ...set(C),
      ...add(P, 16),
    ]),
    ...when(
      [...lessLeft(P, E, 8), EQZ],
      [...word(A, 0, true), ...word(B, 4, false), ...fold([A, B], 7), ...set(C), ...add(P, 8)],
    ),
    ...when([...lessLeft(P, E, 4), EQZ], [...word(A, 0, true), ...fold([A], 3), ...set(C), ...add(P, 4)]),
    ...loop([
      ...leaveIf([...get(P), ...get(E), GE_U]),
      ...[...get(C), ...get(P), ...load8(0), XOR, ...i32(255), AND, ...i32(2), SHL, ...load(0)],
      ...[...get(C), ...i32(8), SHR_U, XOR, ...set(C)],
      ...add(P, 1),
    ]),
    ...get(C),
    END,
  ];
}

/** c(start, end, previous) -> crc */
function crcBody(): number[] {
  return [0, ...get(0), ...get(1), ...get(2), ...i32(-1), XOR, CALL, 0, ...i32(-1), XOR, END];
}

/**
 * v(at, end, maxFrames, seqLo, seqHi) -> offset after the last good frame: the checks of `checkFrame` in the
 * same order, then that the frame's seq is the next one expected (the first is seqHi * 2^32 + seqLo).
 */
function verifyBody(lenOverhead: number, maxLen: number): number[] {
  const [P, E, N, SLO, SHI, LEN, TOTAL, H, C] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  return [
    1,
    4,
    0x7f,
    ...loop([
      ...leaveIf([...get(N), EQZ]),
      ...leaveIf(lessLeft(P, E, 8)),
      ...leaveIf([...get(P), ...load(0), ...tee(LEN), ...i32(lenOverhead), LT_U]),
      ...leaveIf([...get(LEN), ...i32(maxLen), GT_U]),
      ...[...get(LEN), ...i32(8), ADD, ...set(TOTAL)],
      ...leaveIf([...get(E), ...get(P), SUB, ...get(TOTAL), LT_U]),
      ...leaveIf([...get(P), ...load16(24), ...tee(H), ...i32(lenOverhead), ADD, ...get(LEN), GT_U]),
      // Body length = len - overhead - headers length, compared by subtraction (no 32-bit wrap-around).
      ...leaveIf([...get(LEN), ...i32(lenOverhead), SUB, ...get(H), SUB, ...get(P), ...get(H), ADD, ...load(26), NE]),
      // The CRC covers the length field, then everything after the CRC field.
      ...[...get(P), ...load(0), ...i32(-1), XOR, ...set(C), ...fold([C], 3), ...set(C)],
      ...[...get(P), ...i32(8), ADD, ...get(P), ...get(TOTAL), ADD, ...get(C), CALL, 0, ...i32(-1), XOR],
      ...leaveIf([...get(P), ...load(4), NE]),
      ...leaveIf([...get(P), ...load(8), ...get(SLO), NE]),
      ...leaveIf([...get(P), ...load(12), ...get(SHI), NE]),
      ...when([...get(SLO), ...i32(1), ADD, ...tee(SLO), EQZ], add(SHI, 1)),
      ...[...get(P), ...get(TOTAL), ADD, ...set(P)],
      ...[...get(N), ...i32(1), SUB, ...set(N)],
    ]),
    ...[...i32(SCRATCH), ...get(N), 0x36, 2, 0], // i32.store: how many of maxFrames were left
    ...get(P),
    END,
  ];
}

/** The module; `lenOverhead` and `maxLen` are the frame length field's bounds from format.ts. */
export function assembleCrcModule(lenOverhead: number, maxLen: number): Uint8Array {
  const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
  const fn = (body: number[]): number[] => [...uleb(body.length), ...body];
  const name = (s: string): number[] => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    // Two types: (i32 x3) -> i32 for update and c, (i32 x5) -> i32 for v.
    ...section(1, [2, 0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f, 0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f]),
    ...section(2, [1, ...name('j'), ...name('m'), 2, 0, 1]), // import "j" "m": memory, min 1 page
    ...section(3, [3, 0, 0, 1]), // update, c, v
    ...section(7, [2, ...name('c'), 0, 1, ...name('v'), 0, 2]),
    ...section(10, [3, ...fn(updateBody()), ...fn(crcBody()), ...fn(verifyBody(lenOverhead, maxLen))]),
  ]);
}
