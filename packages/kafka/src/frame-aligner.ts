import type { Socket } from 'node:net';

/**
 * Cuts a stream of Kafka frames (each a 4-byte big-endian length, then that many bytes) so that only
 * whole frames come out: what a connection receives after its last whole frame is held until the
 * frame is complete, and dropped with the connection if it never is.
 *
 * Why: kafkajs 2.2.4 keeps the bytes of a half-received answer in its `Connection` (`chunks`,
 * `bytesNeeded`) when the socket closes, and the same `Connection` reconnects for the group
 * coordinator, the admin client and the seed broker. The next socket's answers are read after the stale
 * half, every correlation id is misread, and every request on that connection times out for good: a
 * broker that died while writing an answer stopped a consumer group's commits and heartbeats forever.
 * Every Kafka frame, SASL tokens included, carries this length prefix, so cutting at frame bounds
 * changes nothing else for the client.
 */
export class FrameAligner {
  /** Bytes after the last whole frame, not handed on yet. */
  #held: Buffer[] = [];
  /** Length-prefix bytes of the frame being read so far (0 to 3), and their value. */
  #prefixBytes = 0;
  #prefix = 0;
  /** Body bytes of the current frame still to come. */
  #bodyLeft = 0;

  /** Takes `chunk` in; returns the bytes that end on a frame bound (whole frames only), or undefined. */
  push(chunk: Buffer): Buffer | undefined {
    let bound = -1;
    for (let at = 0; at < chunk.length; ) {
      if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, chunk.length - at);
        this.#bodyLeft -= take;
        at += take;
        if (this.#bodyLeft === 0) bound = at;
        continue;
      }
      this.#prefix = this.#prefix * 256 + (chunk[at++] as number);
      if (++this.#prefixBytes < 4) continue;
      // A negative or zero length (never sent by a broker): the frame ends with its prefix.
      this.#bodyLeft = this.#prefix >= 0x80000000 ? 0 : this.#prefix;
      this.#prefix = 0;
      this.#prefixBytes = 0;
      if (this.#bodyLeft === 0) bound = at;
    }
    if (bound < 0) {
      this.#held.push(chunk);
      return undefined;
    }
    const whole = bound === chunk.length ? chunk : chunk.subarray(0, bound);
    const out = this.#held.length === 0 ? whole : Buffer.concat([...this.#held, whole]);
    this.#held = bound === chunk.length ? [] : [chunk.subarray(bound)];
    return out;
  }

  /** Drops what is held: the connection is gone, its half frame will never be completed. */
  reset(): void {
    this.#held = [];
    this.#prefixBytes = 0;
    this.#prefix = 0;
    this.#bodyLeft = 0;
  }
}

/**
 * Makes `socket` emit `data` with whole Kafka frames only (see {@link FrameAligner}): this one socket's
 * `emit` is wrapped, nothing global. Only `data` listeners (and `pipe`) see aligned bytes: `read()`
 * after `readable` and async iteration still get them as they came, which is fine for kafkajs 2.2.4
 * (it only listens for `data`). A half frame held at `close` is dropped then: kafkajs keeps a closed
 * socket referenced until its connection reconnects, and the half frame with it.
 */
export function alignFrames<S extends Socket>(socket: S): S {
  const aligner = new FrameAligner();
  const emit = socket.emit as (this: S, event: string | symbol, ...args: unknown[]) => boolean;
  socket.emit = function (this: S, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'close') aligner.reset();
    if (event !== 'data') return emit.call(this, event, ...args);
    const whole = aligner.push(args[0] as Buffer);
    return whole === undefined ? true : emit.call(this, 'data', whole);
  } as S['emit'];
  return socket;
}
