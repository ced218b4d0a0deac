import type { ApiDefinition } from '../api.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { Writer } from '../protocol/writer.js';

/** FindCoordinator (key 10), v0–v2 (v3+ is flexible): groups only; transactions are not supported. */
export const api: ApiDefinition = {
  key: 10,
  name: 'FindCoordinator',
  minImplemented: 0,
  maxVersion: 2,
  handle(ctx) {
    const r = ctx.body;
    const key = r.string();
    const keyType = ctx.version >= 1 ? r.int8() : 0;
    const injected = ctx.cluster.takeInjectedError(10);
    const id = keyType === 0 ? ctx.cluster.coordinatorOf(key) : -1;
    const broker = id === -1 ? undefined : ctx.cluster.broker(id);
    const error = injected !== 0 ? injected : broker === undefined ? ErrorCode.COORDINATOR_NOT_AVAILABLE : 0;
    const w = new Writer();
    if (ctx.version >= 1) w.int32(0);
    w.int16(error);
    if (ctx.version >= 1) w.nullableString(null);
    w.int32(error === 0 && broker ? broker.id : -1)
      .string(error === 0 && broker ? broker.host : '')
      .int32(error === 0 && broker ? broker.port : -1);
    return w;
  },
};
