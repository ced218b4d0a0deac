import { join } from 'node:path';
import { type AppendInput, openLog, type SegmentLog } from '@q/log';
import { Webhook } from 'standardwebhooks';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import type { DeadLetter } from '../src/delivery/dead-letters.js';
import type { RetryInfo } from '../src/delivery/engine-events.js';
import type { DeliveryItem } from '../src/delivery/types.js';
import { type Received, startTarget, type Target, tempDir } from './deliverer-target.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const SECRET = `whsec_${Buffer.from('a test secret of 32 bytes.......').toString('base64')}`;
/** Four endpoints, each a server of its own (an origin of its own: the engine pools connections per origin). */
const PATHS = ['/a', '/b', '/c', '/d'];
const KEYS = 200;

/** Record `seq`'s target path and key: keys on a third of the records, each key on one path. */
function shape(seq: number): { path: string; key: string | undefined } {
  if (seq % 3 === 0) {
    const k = (seq / 3) % KEYS;
    return { path: PATHS[k % PATHS.length] as string, key: `k${k}` };
  }
  return { path: PATHS[seq % PATHS.length] as string, key: undefined };
}

async function appendRecords(log: SegmentLog, targets: Target[], count: number): Promise<void> {
  for (let start = 0; start < count; start += 1000) {
    const batch: AppendInput[] = [];
    for (let seq = start; seq < Math.min(count, start + 1000); seq++) {
      const { path, key } = shape(seq);
      const target = targets[PATHS.indexOf(path)] as Target;
      const headers: Record<string, string> = { 'q-url': target.url(path), 'q-h-x-test': `t${seq}` };
      if (key !== undefined) headers['q-key'] = key;
      if (seq % 10 === 0) headers.traceparent = `00-${seq.toString(16).padStart(32, '0')}-00f067aa0ba902b7-01`;
      batch.push({ body: JSON.stringify({ seq }), headers });
    }
    await log.appendBatch(batch);
  }
}

async function allDeadLetters(deliverer: HttpDeliverer): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  for (let from: number | undefined; out.length < deliverer.deadLetters.count; ) {
    const page = await deliverer.deadLetters.list({ ...(from === undefined ? {} : { from }), max: 500 });
    if (page.length === 0) break;
    out.push(...page);
    from = (page[page.length - 1] as DeadLetter).seq + 1;
  }
  return out;
}

describe('HttpDeliverer end to end against a faulty target', () => {
  it('20,000 records: each delivered (2xx at the target) or dead-lettered with its cause, never both; duplicates only after timeouts, with one webhook-id; per-key order holds', async () => {
    const tmp = await tempDir('q-http-e2e-');
    cleanups.push(() => tmp.remove());
    const targets: Target[] = [];
    for (let i = 0; i < PATHS.length; i++) {
      const faults = { fail500: 0.1, hang: 0.02, reject400: 0.01, throttle429: 0.01 };
      const t = await startTarget({ seed: 20_000 + i, faults: (path) => (path === '/warm' ? {} : faults) });
      cleanups.push(() => t.close());
      targets.push(t);
    }
    // undici compiles its HTTP parser at its first request: done here, not inside the first 300 ms attempts.
    for (const t of targets) await (await request(t.url('/warm'), { method: 'POST', body: '{}' })).body.dump();
    const received = () => targets.flatMap((t) => t.received).filter((r) => r.path !== '/warm');
    const okCount = (id: string) => targets.reduce((n, t) => n + t.okCount(id), 0);
    const log = await openLog({ dir: join(tmp.dir, 'log') });
    cleanups.push(() => log.close());
    const total = 20_000;
    await appendRecords(log, targets, total);

    const deliverer = new HttpDeliverer({
      log,
      deadLetterDir: join(tmp.dir, 'dead-letter'),
      engine: {
        concurrency: 16,
        timeoutMs: 300,
        connectTimeoutMs: 300,
        secrets: [SECRET],
        retry: { maxAttempts: 30, minDelayMs: 5, maxDelayMs: 2_000, factor: 2 },
        // 5 failures in a row happen by chance here; an open circuit would only slow the test down.
        circuit: { failureThreshold: 1_000, openMs: 100 },
      },
    });
    cleanups.push(() => deliverer.close());
    const errors: unknown[] = [];
    deliverer.on('error', (err) => errors.push(err));
    /** Attempts the deliverer saw time out, per id: the target may have processed them (hung, or answered late). */
    const timedOut = new Map<string, number>();
    deliverer.on('retry', (item: DeliveryItem, info: RetryInfo) => {
      if (info.cause.startsWith('timeout')) timedOut.set(item.id, (timedOut.get(item.id) ?? 0) + 1);
    });
    await deliverer.start();
    await until(() => deliverer.stats().cursor === total, 50_000, 'the cursor reaching the end');
    const stats = deliverer.stats();
    expect(stats.unfinished).toBe(0);
    expect(stats.backlog).toBe(0);
    expect(stats.delivered + stats.deadLettered).toBe(total);
    expect(stats.cursor).toBe(total);
    expect(stats.nextSeq).toBe(total);
    expect(stats.retried).toBeGreaterThan(0);

    const dead = await allDeadLetters(deliverer);
    expect(dead.length).toBe(stats.deadLettered);
    const deadIds = new Set(dead.map((d) => d.item.id));
    expect(deadIds.size).toBe(dead.length);
    for (const d of dead) {
      // Only the 400s are final here: maxAttempts is far beyond what the 500s, hangs and 429s take.
      expect(d.reason).toBe('rejected');
      expect(d.status).toBe(400);
      expect(d.cause).not.toBe('');
      expect(d.item.seq).toBe(Number(d.item.id.slice(2)));
    }

    const byId = new Map<string, Received[]>();
    for (const r of received()) {
      expect(r.id).toBeDefined();
      const list = byId.get(r.id as string) ?? [];
      list.push(r);
      byId.set(r.id as string, list);
    }
    let duplicates = 0;
    let answeredLate = 0;
    for (let seq = 0; seq < total; seq++) {
      const id = `q_${seq}`;
      const got = byId.get(id) ?? [];
      const ok = okCount(id);
      // Delivered or dead-lettered, never neither; both (or two 2xx) only when an attempt timed out at the
      // deliverer after the target answered it (an answer read too late on a loaded machine).
      const outcomes = ok + (deadIds.has(id) ? 1 : 0);
      expect(outcomes).toBeGreaterThanOrEqual(1);
      if (outcomes > 1) {
        answeredLate++;
        expect(timedOut.get(id) ?? 0).toBeGreaterThan(0);
      }
      // Every attempt: the same webhook-id, the record's own body, path and headers.
      for (const r of got) {
        expect(r.idempotencyKey).toBe(id);
        expect(JSON.parse(r.body)).toEqual({ seq });
        expect(r.path).toBe(shape(seq).path);
        expect(r.headers['x-test']).toBe(`t${seq}`);
        expect(r.contentType).toBe('application/json');
        if (seq % 10 === 0) expect(r.traceparent).toMatch(/^00-0+[0-9a-f]+-00f067aa0ba902b7-01$/);
      }
      // The target processed it more than once only when an attempt timed out (it hung, or was answered late).
      const processed = got.filter((r) => r.fault === 'ok' || r.fault === 'hang').length;
      const hangs = got.filter((r) => r.fault === 'hang').length;
      expect(timedOut.get(id) ?? 0).toBeGreaterThanOrEqual(hangs);
      if (processed > 1) {
        duplicates++;
        expect(timedOut.get(id) ?? 0).toBeGreaterThanOrEqual(processed - 1);
      }
    }
    expect(duplicates).toBeGreaterThan(0);
    // A late answer is rare: most records end one way only. Each one was checked above to follow a timeout;
    // how many there are depends on the machine (a loaded CI machine stalls past the 300 ms attempt timeout:
    // 232 of 20,000 in one run), so the bound is loose.
    expect(answeredLate).toBeLessThan(total / 20);
    if (answeredLate > 0) console.log(`${answeredLate} records answered 2xx after their attempt timed out`);

    // Per-key order: each key's 2xx answers come in seq order (a record answered again after a timeout
    // comes before the key's next record: the key waits for its head to finish).
    const lastOfKey = new Map<string, number>();
    for (const r of received()) {
      if (r.fault !== 'ok') continue;
      const seq = Number((r.id as string).slice(2));
      const { key } = shape(seq);
      if (key === undefined) continue;
      expect(seq).toBeGreaterThanOrEqual(lastOfKey.get(key) ?? -1);
      lastOfKey.set(key, seq);
    }

    // Signatures verify with the Standard Webhooks library (a sample: each verify costs an HMAC).
    const wh = new Webhook(SECRET);
    for (const r of received().slice(0, 200)) {
      const h = { 'webhook-id': r.id, 'webhook-timestamp': r.timestamp, 'webhook-signature': r.signature };
      expect(wh.verify(r.body, h as Record<string, string>)).toEqual(JSON.parse(r.body));
    }
    await deliverer.close();
    expect((await log.cursor('http')).position).toBe(total);
    expect(errors).toEqual([]);
  }, 60_000);
});
