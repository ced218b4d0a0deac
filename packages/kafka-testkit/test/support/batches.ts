import { crc32c } from '@q/kafka-testkit';

/** A valid record batch (magic 2) of `count` one-byte records, built by hand with our CRC-32C. */
export function buildBatch(
  options: { producerId?: bigint; epoch?: number; sequence?: number; count?: number } = {},
): Buffer {
  const count = options.count ?? 1;
  const records: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    // length 7 (zigzag 14), attributes, timestamp delta, offset delta i, key null, value "a", no headers
    records.push(Buffer.from([0x0e, 0, 0, i * 2, 1, 0x02, 0x61, 0]));
  }
  const body = Buffer.concat(records);
  const batch = Buffer.alloc(61 + body.length);
  batch.writeBigInt64BE(0n, 0);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt8(2, 16);
  batch.writeInt32BE(count - 1, 23);
  batch.writeBigInt64BE(options.producerId ?? -1n, 43);
  batch.writeInt16BE(options.epoch ?? -1, 51);
  batch.writeInt32BE(options.sequence ?? -1, 53);
  batch.writeInt32BE(count, 57);
  body.copy(batch, 61);
  batch.writeUInt32BE(crc32c(batch, 21), 17);
  return batch;
}
