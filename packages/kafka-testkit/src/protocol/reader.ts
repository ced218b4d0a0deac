/** Thrown when a request is shorter than its layout says or holds an impossible length. */
export class MalformedRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedRequestError';
  }
}

/** Reads Kafka's primitive types from a request body (non-flexible layouts, plus what flexible headers need). */
export class Reader {
  #offset: number;
  constructor(
    /** The whole request body. */
    readonly buffer: Buffer,
    offset = 0,
  ) {
    this.#offset = offset;
  }

  /** Where the next read starts. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes left after {@link Reader.offset}. */
  get remaining(): number {
    return this.buffer.length - this.#offset;
  }

  #need(n: number): number {
    const at = this.#offset;
    if (n < 0 || at + n > this.buffer.length)
      throw new MalformedRequestError(`need ${n} bytes at ${at}, have ${this.remaining}`);
    this.#offset += n;
    return at;
  }

  /** INT8. */
  int8(): number {
    return this.buffer.readInt8(this.#need(1));
  }
  /** INT16, big-endian. */
  int16(): number {
    return this.buffer.readInt16BE(this.#need(2));
  }
  /** INT32, big-endian. */
  int32(): number {
    return this.buffer.readInt32BE(this.#need(4));
  }
  /** INT64, big-endian. */
  int64(): bigint {
    return this.buffer.readBigInt64BE(this.#need(8));
  }
  /** BOOLEAN: one byte, non-zero is true. */
  boolean(): boolean {
    return this.int8() !== 0;
  }

  /** STRING: an INT16 length, then UTF-8 bytes. */
  string(): string {
    const length = this.int16();
    if (length < 0) throw new MalformedRequestError('null where a string is required');
    return this.buffer.toString('utf8', this.#need(length), this.#offset);
  }
  /** NULLABLE_STRING: as STRING, length -1 for null. */
  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    return this.buffer.toString('utf8', this.#need(length), this.#offset);
  }
  /** BYTES: an INT32 length, then the bytes (a view of the body, not a copy). */
  bytes(): Buffer {
    const value = this.nullableBytes();
    if (value === null) throw new MalformedRequestError('null where bytes are required');
    return value;
  }
  /** NULLABLE_BYTES: as BYTES, length -1 for null. */
  nullableBytes(): Buffer | null {
    const length = this.int32();
    if (length < 0) return null;
    const at = this.#need(length);
    return this.buffer.subarray(at, at + length);
  }

  /** ARRAY: an INT32 count, then `item` read that many times. */
  array<T>(item: (r: Reader) => T): T[] {
    const value = this.nullableArray(item);
    if (value === null) throw new MalformedRequestError('null where an array is required');
    return value;
  }
  /** A nullable ARRAY: as ARRAY, count -1 for null. */
  nullableArray<T>(item: (r: Reader) => T): T[] | null {
    const length = this.int32();
    if (length < 0) return null;
    if (length > this.remaining) throw new MalformedRequestError(`array of ${length} items in ${this.remaining} bytes`);
    const out: T[] = [];
    for (let i = 0; i < length; i++) out.push(item(this));
    return out;
  }

  /** Unsigned varint (flexible versions: compact lengths, tag counts). */
  uvarint(): number {
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = this.buffer.readUInt8(this.#need(1));
      value |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return value >>> 0;
      shift += 7;
      if (shift > 28) throw new MalformedRequestError('varint too long');
    }
  }
  /** COMPACT_NULLABLE_STRING: an unsigned varint of length + 1 (0 for null), then UTF-8 bytes. */
  compactNullableString(): string | null {
    const length = this.uvarint() - 1;
    if (length < 0) return null;
    return this.buffer.toString('utf8', this.#need(length), this.#offset);
  }
  /** Skips a tagged-field section. */
  taggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.#need(this.uvarint());
    }
  }
}
