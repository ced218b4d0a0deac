import type { ApiDefinition } from '../api.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { Writer } from '../protocol/writer.js';
import { parseBatches } from '../record-batch.js';
import { leaderPartition } from './partition-check.js';

/** Produce (key 0), v3–v7: record batches (magic 2) stored as they came. acks=0 gets no response. */
export const api: ApiDefinition = {
  key: 0,
  name: 'Produce',
  minImplemented: 3,
  maxVersion: 7,
  handle(ctx) {
    const r = ctx.body;
    r.nullableString(); // transactional_id
    const acks = r.int16();
    r.int32(); // timeout_ms
    const topics = r.array((t) => ({
      name: t.string(),
      partitions: t.array((p) => ({ index: p.int32(), records: p.nullableBytes() })),
    }));
    const results = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const out = { index: p.index, error: 0, baseOffset: -1n, logStartOffset: -1n };
        const target = leaderPartition(ctx, t.name, p.index, true);
        if (typeof target === 'number') return { ...out, error: target };
        const batches = p.records === null ? 'corrupt' : parseBatches(p.records);
        if (batches === 'corrupt' || batches === 'unsupported-magic')
          return { ...out, error: ErrorCode.CORRUPT_MESSAGE };
        let baseOffset = -1n;
        for (const batch of batches) {
          const appended = target.log.append(batch);
          if ('error' in appended) {
            const error =
              appended.error === 'out-of-order'
                ? ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
                : ErrorCode.INVALID_PRODUCER_EPOCH;
            return { ...out, error };
          }
          if (baseOffset === -1n) baseOffset = appended.baseOffset;
        }
        return { ...out, baseOffset, logStartOffset: target.log.startOffset };
      }),
    }));
    if (acks === 0) return null;
    const w = new Writer();
    w.array(results, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => {
        w.int32(p.index).int16(p.error).int64(p.baseOffset);
        if (ctx.version >= 2) w.int64(-1n); // log_append_time
        if (ctx.version >= 5) w.int64(p.logStartOffset);
      });
    });
    w.int32(0); // throttle_time_ms
    return w;
  },
};
