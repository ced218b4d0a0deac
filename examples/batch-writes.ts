/**
 * Batched writes with ChunkExecutor: 100,000 small records written in 64 KiB chunks; half of them
 * confirmed (the promise resolves once the chunk holding the record was written).
 */
import { ChunkExecutor } from '@q/core';

const written: string[] = [];
let chunks = 0;
const writer = new ChunkExecutor<string>(
  async (records) => {
    chunks++;
    written.push(...records); // stands for one write to a file, a socket or a database
  },
  { chunkBytes: 64 * 1024, flushIntervalMs: 50 },
);

const confirms: Promise<void>[] = [];
for (let i = 0; i < 100_000; i++) {
  const record = `record-${i}`;
  if (i % 2 === 0) confirms.push(writer.addAndConfirm(record, record.length));
  else {
    const accepted = writer.add(record, record.length);
    if (accepted) await accepted; // back-pressure: wait while the previous chunk is written
  }
}
await writer.flush();
await Promise.all(confirms);
await writer.close();
console.log(`batch writes: ${written.length} records in ${chunks} chunks, ${confirms.length} confirmed`);
process.exitCode = written.length === 100_000 ? 0 : 1;
