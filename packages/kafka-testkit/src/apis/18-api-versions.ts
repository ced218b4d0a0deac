import type { ApiDefinition } from '../api.js';
import { Writer } from '../protocol/writer.js';

/**
 * ApiVersions (key 18), v0–v2. Every implemented key is advertised with min 0 (librdkafka enables a
 * feature only when the ranges overlap) and max = the highest implemented, non-flexible version.
 * Requests for v3+ are answered by the broker with a v0 body carrying UNSUPPORTED_VERSION.
 */
export const api: ApiDefinition = {
  key: 18,
  name: 'ApiVersions',
  minImplemented: 0,
  maxVersion: 2,
  handle(ctx) {
    const w = new Writer().int16(0);
    w.array(ctx.cluster.advertised(), (w, a) => w.int16(a.key).int16(a.min).int16(a.max));
    if (ctx.version >= 1) w.int32(0);
    return w;
  },
};
