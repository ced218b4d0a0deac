import { crc32c } from './crc32c.js';
import { assembleCrcModule, DATA, WASM_TABLES } from './crc32c-wasm-code.js';
import { checkFrame, FRAME_OVERHEAD, frameSeq, MAX_RECORD_BYTES_LIMIT } from './format.js';

/*
 * CRC-32C in WebAssembly (crc32c-wasm-code.ts), several times the speed of the JavaScript loop (no bounds
 * check per byte, 32-bit loads), for the replay path that checks every frame it returns and the writer that
 * seals every frame. A chunk is copied into the module's memory once ("staged"), then checked there.
 */

const PAGE = 64 * 1024;
/** Chunks up to this size are staged; larger ones (a single huge record) use the JavaScript loop. */
const MAX_STAGED = 8 * 1024 * 1024;
const LEN_OVERHEAD = FRAME_OVERHEAD - 8;
const TWO_32 = 2 ** 32;

/** The part of the WebAssembly API used here (the project's TypeScript libs declare no WebAssembly values). */
interface WasmApi {
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer; grow(pages: number): number };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const memory = new wasm.Memory({ initial: Math.ceil((DATA + 1024 * 1024 + PAGE) / PAGE) });
const instance = new wasm.Instance(
  new wasm.Module(assembleCrcModule(LEN_OVERHEAD, MAX_RECORD_BYTES_LIMIT + LEN_OVERHEAD)),
  { j: { m: memory } },
).exports;
const wasmCrc = instance.c as (start: number, end: number, previous: number) => number;
const wasmVerify = instance.v as (at: number, end: number, maxFrames: number, seqLo: number, seqHi: number) => number;
new Int32Array(memory.buffer, 0, WASM_TABLES.length).set(WASM_TABLES);
let bytes = new Uint8Array(memory.buffer);
let staged: Uint8Array | undefined;
let stagedLength = 0;

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
  stagedLength = length;
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

/**
 * Checks up to `maxFrames` frames of `buf` from `start`, each as {@link checkFrame} does and its seq (the
 * first `firstSeq`, then one more each), and returns the offset after the last good one: `start` when the
 * first is damaged, out of sequence or not whole in `[start, end)`. One call into WebAssembly for the whole
 * run when `buf` is the staged chunk, else the JavaScript loop. The caller tells why a run stopped by
 * looking at the frame at the offset returned.
 */
export function verifyFrames(buf: Uint8Array, start: number, end: number, maxFrames: number, firstSeq: number): number {
  if (buf === staged) {
    const hi = Math.floor(firstSeq / TWO_32);
    const at = wasmVerify(DATA + start, DATA + Math.min(end, stagedLength), maxFrames, firstSeq - hi * TWO_32, hi);
    return at - DATA;
  }
  let at = start;
  for (let n = 0; n < maxFrames; n++) {
    const total = checkFrame(buf, at, end);
    if (total < 0 || frameSeq(buf, at) !== firstSeq + n) break;
    at += total;
  }
  return at;
}
