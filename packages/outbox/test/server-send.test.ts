// The proxy in process, in front of a real Outbox and RedisListPusher on the run's redis-server,
// through undici keep-alive clients: single and NDJSON sends reach the list exactly once and in
// order, an Idempotency-Key stores once and answers the same id, the unix socket serves the same
// routes, and /v1/health and /metrics say what happened; in both modes.
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessProxy, json, startInProcessProxy, waitFor } from './server-support/in-process.js';

let p: InProcessProxy;

/** The list's whole content, as strings. */
const list = (): Promise<string[]> => p.redis.lrange(p.key, 0, -1);

async function post(path: string, body: string | Buffer, headers: Record<string, string> = {}, client = p.http) {
  const res = await client.request({ path, method: 'POST', body, headers });
  return { status: res.statusCode, headers: res.headers, body: await json(res.body) };
}

const ndjson = { 'content-type': 'application/x-ndjson' };

describe.each(['write-ahead', 'direct-first'] as const)('the proxy in front of Redis, %s', (mode) => {
  beforeAll(async () => {
    p = await startInProcessProxy({ socket: true, outbox: { mode } });
  });
  afterAll(() => p?.dispose());

  it('single messages and NDJSON batches land in the list exactly once, in order, after a 200', async () => {
    await p.redis.del(p.key);
    const ids: string[] = [];
    for (const body of ['one', 'two']) {
      const r = await post('/v1/messages', body, { 'content-type': 'text/plain' });
      expect(r).toMatchObject({ status: 200, body: { duplicate: false } });
      ids.push(r.body.id as string);
    }
    // JSON is a message like any other: its bytes are stored as they came.
    const jsonBody = await post('/v1/messages', '{"order":3}', { 'content-type': 'application/json' });
    expect(jsonBody.status).toBe(200);
    ids.push(jsonBody.body.id as string);
    const lines = [
      JSON.stringify({ body: 'four' }),
      JSON.stringify({ bodyBase64: Buffer.from('five').toString('base64'), key: 'k', headers: { trace: 't' } }),
      JSON.stringify({ body: 'six' }),
    ];
    const batch = await post('/v1/messages/batch', `${lines.join('\n')}\n`, ndjson);
    expect(batch.status).toBe(200);
    expect(batch.body.duplicate).toEqual([false, false, false]);
    ids.push(...(batch.body.ids as string[]));

    // Ids are <outbox id>:<seq>, increasing in the order the messages were accepted.
    expect(ids.every((id) => id.startsWith(`${p.outbox.id}:`))).toBe(true);
    const seqs = ids.map((id) => Number(id.slice(id.lastIndexOf(':') + 1)));
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(6);

    const expected = ['one', 'two', '{"order":3}', 'four', 'five', 'six'];
    await waitFor('the six messages in Redis', async () => (await list()).length >= 6);
    expect(await list()).toEqual(expected);
    // Nothing arrives twice later (the forwarder is done with them).
    await waitFor('an empty backlog', () => p.outbox.stats().backlogMessages === 0);
    expect(await list()).toEqual(expected);
  });

  it('a binary body is stored byte for byte', async () => {
    await p.redis.del(p.key);
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x0a, 0x0d]);
    expect((await post('/v1/messages', bytes, { 'content-type': 'application/octet-stream' })).status).toBe(200);
    await waitFor('the message in Redis', async () => (await p.redis.llen(p.key)) === 1);
    expect(await p.redis.lrangeBuffer(p.key, 0, -1)).toEqual([bytes]);
  });

  it('an Idempotency-Key retried stores once and answers the same id, on either route', async () => {
    await p.redis.del(p.key);
    const first = await post('/v1/messages', 'pay 10', { 'idempotency-key': 'payment-7' });
    const again = await post('/v1/messages', 'pay 10', { 'idempotency-key': 'payment-7' });
    expect(first.body).toEqual({ id: expect.any(String), duplicate: false });
    expect(again).toMatchObject({ status: 200, body: { id: first.body.id, duplicate: true } });

    const lines = [
      JSON.stringify({ body: 'pay 10', idempotencyKey: 'payment-7' }),
      JSON.stringify({ body: 'pay 20', idempotencyKey: 'payment-8' }),
    ].join('\n');
    const batch = await post('/v1/messages/batch', lines, ndjson);
    expect(batch.status).toBe(200);
    expect(batch.body.duplicate).toEqual([true, false]);
    expect((batch.body.ids as string[])[0]).toBe(first.body.id);
    const retried = await post('/v1/messages/batch', lines, ndjson);
    expect(retried.body).toEqual({ ids: batch.body.ids, duplicate: [true, true] });

    await waitFor('an empty backlog', () => p.outbox.stats().backlogMessages === 0);
    await waitFor('both in Redis', async () => (await list()).length >= 2);
    expect(await list()).toEqual(['pay 10', 'pay 20']);
  });

  it('the unix socket serves the same routes (keep-alive client on socketPath)', async () => {
    await p.redis.del(p.key);
    expect(p.socket).toBeDefined();
    const client = new Client('http://localhost', { socketPath: p.socket as string });
    try {
      for (let i = 0; i < 5; i++) expect((await post('/v1/messages', `via socket ${i}`, {}, client)).status).toBe(200);
      const health = await client.request({ path: '/v1/health', method: 'GET' });
      expect(health.statusCode).toBe(200);
      await health.body.dump();
    } finally {
      await client.close();
    }
    await waitFor('the socket messages in Redis', async () => (await list()).length >= 5);
    expect(await list()).toEqual([0, 1, 2, 3, 4].map((i) => `via socket ${i}`));
  });

  it('GET /v1/health: 200 with the outbox id, the sink state and the backlog', async () => {
    await waitFor('an empty backlog', () => p.outbox.stats().backlogMessages === 0);
    const res = await p.http.request({ path: '/v1/health', method: 'GET' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(await json(res.body)).toMatchObject({
      status: 'ok',
      outbox: p.outbox.id,
      mode,
      sink: 'up',
      sinkDownForMs: 0,
      backlogMessages: 0,
      backlogBytes: 0,
      accepted: p.outbox.stats().accepted,
    });
  });

  it('GET /metrics: Prometheus text from its own registry, outbox figures and requests by route and status', async () => {
    await p.http.request({ path: '/nowhere', method: 'GET' }).then((r) => r.body.dump());
    const res = await p.http.request({ path: '/metrics', method: 'GET' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.body.text();
    const value = (series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      if (line === undefined) throw new Error(`no ${series} in\n${text}`);
      return Number(line.slice(series.length + 1));
    };
    const outbox = `outbox="${p.outbox.id}"`;
    const stats = p.outbox.stats();
    expect(value(`q_outbox_accepted_total{${outbox}}`)).toBe(stats.accepted);
    expect(stats.accepted).toBe(14);
    expect(value(`q_outbox_forwarded_total{${outbox}}`)).toBe(stats.forwarded);
    expect(value(`q_outbox_duplicates_suppressed_total{${outbox}}`)).toBe(stats.duplicatesSuppressed);
    expect(stats.duplicatesSuppressed).toBeGreaterThanOrEqual(4);
    expect(value(`q_outbox_dead_lettered_total{${outbox}}`)).toBe(0);
    expect(value(`q_outbox_backlog_messages{${outbox}}`)).toBe(stats.backlogMessages);
    expect(value(`q_outbox_backlog_bytes{${outbox}}`)).toBe(stats.backlogBytes);
    expect(value(`q_outbox_oldest_age_seconds{${outbox}}`)).toBe(stats.oldestAgeMs / 1000);
    expect(value(`q_outbox_sink_up{${outbox}}`)).toBe(1);
    expect(value(`q_outbox_http_requests_total{route="/v1/messages",method="POST",status="200",${outbox}}`)).toBe(11);
    expect(value(`q_outbox_http_requests_total{route="/v1/messages/batch",method="POST",status="200",${outbox}}`)).toBe(
      3,
    );
    expect(value(`q_outbox_http_requests_total{route="unmatched",method="GET",status="404",${outbox}}`)).toBe(1);
    // Never on prom-client's global registry.
    const { register } = await import('prom-client');
    expect(await register.getSingleMetric('q_outbox_accepted_total')).toBeUndefined();
  });
});
