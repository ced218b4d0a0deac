// Found by the chaos tests' reasoning: `q-outbox serve --mode direct-first` forgets the
// Idempotency-Key of a message it sent straight to the sink once it restarts, so a client's retry
// of a request whose answer was lost in a proxy crash stores the message a second time, with a new
// id that no sink or consumer can tell from a new message. docs/outbox.md ("The proxy") promises
// the opposite: "A client that got no answer (a timeout, a dropped connection, a killed proxy) ...
// retries with the same idempotency-key and gets the same id". The state reproduced here is the one
// a crash between the sink's confirm and the 200 leaves: the message in Redis, not in the log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { json } from './server-support/in-process.js';
import { type RedisChaosBroker, redisChaosBroker } from './support/chaos-brokers.js';
import { type ProxyTarget, startProxyTarget } from './support/chaos-proxy-target.js';

let broker: RedisChaosBroker | undefined;
let target: ProxyTarget | undefined;
let reader: Redis | undefined;
const dir = mkdtempSync(join(tmpdir(), 'q-chaos-direct-retry-'));
afterAll(async () => {
  reader?.disconnect();
  await target?.dispose();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function post(
  origin: string,
  body: string,
  key: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const client = new Client(origin);
  try {
    const res = await client.request({
      path: '/v1/messages',
      method: 'POST',
      body,
      headers: { 'idempotency-key': key },
    });
    return { status: res.statusCode, body: await json(res.body) };
  } finally {
    await client.close();
  }
}

describe('q-outbox serve --mode direct-first: an Idempotency-Key retried after the proxy was killed', () => {
  it('answers the first id with duplicate: true and stores nothing twice', async () => {
    broker = await redisChaosBroker();
    target = await startProxyTarget(join(dir, 'outbox'), broker.sinkUrl, ['--mode', 'direct-first']);
    reader = new Redis(broker.url, { maxRetriesPerRequest: 1 });

    const first = await post(target.origin, 'pay 10', 'payment-7');
    expect(first).toMatchObject({ status: 200, body: { duplicate: false } });
    // A send with an idempotency key goes through the log even in direct-first (so that its key outlives
    // a crash), and is forwarded from there: in Redis once drained.
    await target.drained(20_000);
    expect(await reader.lrange(broker.key, 0, -1)).toEqual(['pay 10']);

    await target.killAndRestart();
    const retry = await post(target.origin, 'pay 10', 'payment-7');
    await target.drained(20_000);
    expect(await reader.lrange(broker.key, 0, -1)).toEqual(['pay 10']);
    expect(retry).toEqual({ status: 200, body: { id: first.body.id, duplicate: true } });
  }, 60_000);
});
