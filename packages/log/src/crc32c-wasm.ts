import { CRC32C_TABLES, crc32c } from './crc32c.js';

/*
 * CRC-32C slicing-by-8 in WebAssembly, about twice the speed of the JavaScript loop (no bounds check per
 * byte, two 32-bit loads per eight bytes), for the replay path that checks every frame it returns. The
 * module is assembled here from its opcodes rather than shipped as a .wasm file, so there is nothing to
 * build or load from disk. Memory: the eight 256-entry tables at 0, then the staged chunk at DATA.
 */

const DATA = 8 * 1024;
const PAGE = 64 * 1024;
/** Chunks up to this size are staged; larger ones (a single huge record) use the JavaScript loop. */
const MAX_STAGED = 8 * 1024 * 1024;

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

function assemble(): Uint8Array {
  const [P, END, CRC, A, B] = [0, 1, 2, 3, 4];
  const get = (l: number): number[] => [0x20, l];
  const set = (l: number): number[] => [0x21, l];
  const i32 = (n: number): number[] => [0x41, ...sleb(n)];
  const [ADD, SUB, AND, XOR, SHL, SHR_U, LT_U, GE_U] = [0x6a, 0x6b, 0x71, 0x73, 0x74, 0x76, 0x49, 0x4f];
  const load = (offset: number): number[] => [0x28, 2, ...uleb(offset)];
  // tables[table][(v >>> shift) & 0xff]
  const look = (v: number, shift: number, table: number): number[] => [
    ...get(v),
    ...(shift > 0 ? [...i32(shift), SHR_U] : []),
    ...(shift < 24 ? [...i32(255), AND] : []),
    ...i32(2),
    SHL,
    ...load(table * 1024),
  ];
  const loop = (body: number[]): number[] => [0x02, 0x40, 0x03, 0x40, ...body, 0x0c, 0, 0x0b, 0x0b];
  const body = [
    ...get(CRC),
    ...i32(-1),
    XOR,
    ...set(CRC),
    ...loop([
      ...get(END),
      ...get(P),
      SUB,
      ...i32(8),
      LT_U,
      0x0d,
      1,
      ...get(CRC),
      ...get(P),
      ...load(0),
      XOR,
      ...set(A),
      ...get(P),
      ...load(4),
      ...set(B),
      ...look(A, 0, 7),
      ...look(A, 8, 6),
      XOR,
      ...look(A, 16, 5),
      XOR,
      ...look(A, 24, 4),
      XOR,
      ...look(B, 0, 3),
      XOR,
      ...look(B, 8, 2),
      XOR,
      ...look(B, 16, 1),
      XOR,
      ...look(B, 24, 0),
      XOR,
      ...set(CRC),
      ...get(P),
      ...i32(8),
      ADD,
      ...set(P),
    ]),
    ...loop([
      ...get(P),
      ...get(END),
      GE_U,
      0x0d,
      1,
      ...get(CRC),
      ...get(P),
      0x2d,
      0,
      0,
      XOR,
      ...i32(255),
      AND,
      ...i32(2),
      SHL,
      ...load(0),
      ...get(CRC),
      ...i32(8),
      SHR_U,
      XOR,
      ...set(CRC),
      ...get(P),
      ...i32(1),
      ADD,
      ...set(P),
    ]),
    ...get(CRC),
    ...i32(-1),
    XOR,
    0x0b,
  ];
  const fn = [1, 2, 0x7f, ...body];
  const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f]), // (i32 start, i32 end, i32 crc) -> i32
    ...section(2, [1, 1, 0x6a, 1, 0x6d, 2, 0, 1]), // import "j" "m": memory, min 1 page
    ...section(3, [1, 0]),
    ...section(7, [1, 1, 0x63, 0, 0]), // export "c": function 0
    ...section(10, [1, ...uleb(fn.length), ...fn]),
  ]);
}

/** The part of the WebAssembly API used here (the project's TypeScript libs declare no WebAssembly values). */
interface WasmApi {
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer; grow(pages: number): number };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const memory = new wasm.Memory({ initial: Math.ceil((DATA + 1024 * 1024 + PAGE) / PAGE) });
const wasmCrc = new wasm.Instance(new wasm.Module(assemble()), { j: { m: memory } }).exports.c as (
  start: number,
  end: number,
  previous: number,
) => number;
new Int32Array(memory.buffer, 0, CRC32C_TABLES.length).set(CRC32C_TABLES);
let bytes = new Uint8Array(memory.buffer);
let staged: Uint8Array | undefined;

/**
 * Copies `buf[0, length)` into the module's memory, so {@link stagedCrc32c} over `buf` runs in WebAssembly.
 * Only for a buffer that is never written again (a read chunk whose records are views of it): the copy
 * would go stale otherwise. One chunk is staged at a time; staging another replaces it.
 */
export function stageForCrc(buf: Uint8Array, length: number): void {
  staged = undefined;
  if (length > MAX_STAGED) return;
  const need = DATA + length;
  if (need > bytes.length) {
    memory.grow(Math.ceil((need - bytes.length) / PAGE));
    bytes = new Uint8Array(memory.buffer);
  }
  bytes.set(length === buf.length ? buf : buf.subarray(0, length), DATA);
  staged = buf;
}

/** Forgets `buf` if it is the staged chunk (the writer stages each group, then writes into it again). */
export function unstage(buf: Uint8Array): void {
  if (staged === buf) staged = undefined;
}

/** Whether `buf` is the chunk staged now. */
export function isStaged(buf: Uint8Array): boolean {
  return buf === staged;
}

/** {@link crc32c} of `buf[start, end)`: in WebAssembly when `buf` is the staged chunk, else in JavaScript. */
export function stagedCrc32c(buf: Uint8Array, start: number, end: number, previous = 0): number {
  if (buf !== staged) return crc32c(buf, start, end, previous);
  return wasmCrc(DATA + start, DATA + end, previous) >>> 0;
}
