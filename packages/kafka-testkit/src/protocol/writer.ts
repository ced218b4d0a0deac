/** Builds a response body: Kafka's primitive types, big-endian, in a growing buffer. */
export class Writer {
  // Every write reserves room first and only then reads #buffer: reserving may replace the buffer,
  // and `this.#buffer.writeX(v, this.#room(n))` would write into the old one.
  #buffer: Buffer;
  #length = 0;

  constructor(initial = 256) {
    this.#buffer = Buffer.allocUnsafe(initial);
  }

  #room(n: number): number {
    if (this.#length + n > this.#buffer.length) {
      const next = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#length + n));
      this.#buffer.copy(next, 0, 0, this.#length);
      this.#buffer = next;
    }
    const at = this.#length;
    this.#length += n;
    return at;
  }

  /** INT8. */
  int8(v: number): this {
    const at = this.#room(1);
    this.#buffer.writeInt8(v, at);
    return this;
  }
  /** INT16, big-endian. */
  int16(v: number): this {
    const at = this.#room(2);
    this.#buffer.writeInt16BE(v, at);
    return this;
  }
  /** INT32, big-endian. */
  int32(v: number): this {
    const at = this.#room(4);
    this.#buffer.writeInt32BE(v, at);
    return this;
  }
  /** INT64, big-endian. */
  int64(v: bigint | number): this {
    const at = this.#room(8);
    this.#buffer.writeBigInt64BE(BigInt(v), at);
    return this;
  }
  /** BOOLEAN: one byte, 1 or 0. */
  boolean(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }
  /** STRING: an INT16 length, then UTF-8 bytes. */
  string(v: string): this {
    const n = Buffer.byteLength(v);
    this.int16(n);
    const at = this.#room(n);
    this.#buffer.write(v, at, 'utf8');
    return this;
  }
  /** NULLABLE_STRING: as STRING, length -1 for null. */
  nullableString(v: string | null): this {
    return v === null ? this.int16(-1) : this.string(v);
  }
  /** BYTES: an INT32 length, then the bytes. */
  bytes(v: Uint8Array): this {
    this.int32(v.length);
    const at = this.#room(v.length);
    this.#buffer.set(v, at);
    return this;
  }
  /** NULLABLE_BYTES: as BYTES, length -1 for null. */
  nullableBytes(v: Uint8Array | null): this {
    return v === null ? this.int32(-1) : this.bytes(v);
  }
  /** Raw bytes without a length prefix. */
  raw(v: Uint8Array): this {
    const at = this.#room(v.length);
    this.#buffer.set(v, at);
    return this;
  }
  /** ARRAY: an INT32 count, then `item` for each element. */
  array<T>(items: readonly T[], item: (w: Writer, value: T) => void): this {
    this.int32(items.length);
    for (const value of items) item(this, value);
    return this;
  }
  /** A nullable ARRAY: as ARRAY, count -1 for null. */
  nullableArray<T>(items: readonly T[] | null, item: (w: Writer, value: T) => void): this {
    return items === null ? this.int32(-1) : this.array(items, item);
  }

  /** The bytes written so far (a view, valid until the next write). */
  toBuffer(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }
}
