import type { ApiDefinition } from '../api.js';
import type { Partition } from '../partition.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { Writer } from '../protocol/writer.js';
import { leaderPartition } from './partition-check.js';

interface FetchPartition {
  index: number;
  offset: bigint;
  maxBytes: number;
}

/** Fetch (key 1), v4–v11: stored batches returned verbatim; long-polls until data, `max_wait_ms` or stop. */
export const api: ApiDefinition = {
  key: 1,
  name: 'Fetch',
  minImplemented: 4,
  maxVersion: 11,
  async handle(ctx) {
    const r = ctx.body;
    const v = ctx.version;
    r.int32(); // replica_id
    const maxWaitMs = r.int32();
    const minBytes = r.int32();
    const maxBytes = r.int32();
    r.int8(); // isolation_level
    if (v >= 7) {
      r.int32(); // session_id
      r.int32(); // session_epoch
    }
    const topics = r.array((t) => ({
      name: t.string(),
      partitions: t.array((p): FetchPartition => {
        const index = p.int32();
        if (v >= 9) p.int32(); // current_leader_epoch
        const offset = p.int64();
        if (v >= 5) p.int64(); // log_start_offset
        return { index, offset, maxBytes: p.int32() };
      }),
    }));
    if (v >= 7) r.array((t) => [t.string(), t.array((p) => p.int32())]); // forgotten_topics_data
    if (v >= 11) r.string(); // rack_id

    const targets = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ request: p, target: leaderPartition(ctx, t.name, p.index, false) })),
    }));
    const collect = () => {
      let total = 0;
      const out = targets.map((t) => ({
        name: t.name,
        partitions: t.partitions.map(({ request, target }) => {
          if (typeof target === 'number') {
            return { index: request.index, error: target, log: undefined, batches: [] as Buffer[] };
          }
          const log = target.log;
          if (request.offset > log.endOffset || request.offset < log.startOffset) {
            return { index: request.index, error: ErrorCode.OFFSET_OUT_OF_RANGE, log, batches: [] as Buffer[] };
          }
          const batches =
            total >= maxBytes ? [] : log.read(request.offset, Math.min(request.maxBytes, maxBytes - total));
          for (const b of batches) total += b.length;
          return { index: request.index, error: 0, log, batches };
        }),
      }));
      return { out, total };
    };
    let result = collect();
    const hasErrors = result.out.some((t) => t.partitions.some((p) => p.error !== 0));
    if (result.total < Math.max(1, minBytes) && maxWaitMs > 0 && !hasErrors) {
      await waitForData(
        targets.flatMap((t) => t.partitions.flatMap((p) => (typeof p.target === 'number' ? [] : [p.target]))),
        maxWaitMs,
        ctx.signal,
      );
      result = collect();
    }
    const w = new Writer(256 + result.total);
    w.int32(0); // throttle_time_ms
    if (v >= 7) w.int16(0).int32(0); // error_code, session_id
    w.array(result.out, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => {
        const end = p.log?.endOffset ?? -1n;
        w.int32(p.index).int16(p.error).int64(end).int64(end); // high_watermark, last_stable_offset
        if (v >= 5) w.int64(p.log?.startOffset ?? -1n);
        w.int32(-1); // aborted_transactions: null
        if (v >= 11) w.int32(-1); // preferred_read_replica
        const size = p.batches.reduce((n, b) => n + b.length, 0);
        w.int32(size);
        for (const b of p.batches) w.raw(b);
      });
    });
    return w;
  },
};

/** Resolves at the first append to any of `partitions`, after `ms`, or when `signal` aborts. */
function waitForData(partitions: Partition[], ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const cancels: (() => void)[] = [];
    const done = (): void => {
      clearTimeout(timer);
      for (const c of cancels) c();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const p of partitions) cancels.push(p.log.waitForData(done));
    signal.addEventListener('abort', done, { once: true });
  });
}
