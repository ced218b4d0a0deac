import type { ApiDefinition } from '../api.js';
import { Writer } from '../protocol/writer.js';

/** InitProducerId (key 22), v0–v1: a fresh producer id, epoch 0 (idempotence; no transactions). */
export const api: ApiDefinition = {
  key: 22,
  name: 'InitProducerId',
  minImplemented: 0,
  maxVersion: 1,
  handle(ctx) {
    const r = ctx.body;
    r.nullableString(); // transactional_id
    r.int32(); // transaction_timeout_ms
    const injected = ctx.cluster.takeInjectedError(22);
    return new Writer()
      .int32(0)
      .int16(injected)
      .int64(injected === 0 ? ctx.cluster.nextProducerId() : -1n)
      .int16(injected === 0 ? 0 : -1);
  },
};
