// The topics' tail caches share one budget (tailCacheBytes): many busy topics hold at most that much
// together, the metric shows it, and every message is still delivered once.
import { InvalidOptionError } from '@q/core';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpQueueServer } from '../src/server/http-queue-server.js';
import { send, startServer } from './server-support/server.js';
import { startTarget, type Target } from './server-support/target.js';

const targets: Target[] = [];
afterAll(async () => {
  for (const t of targets) await t.close();
});

const TOPICS = 6;
const PER_TOPIC = 40;
const LIMIT = 24 * 1024;

function cachedBytes(metrics: string): number {
  const m = /^q_http_tail_cache_bytes (\d+)$/m.exec(metrics);
  if (m === null) throw new Error(`no q_http_tail_cache_bytes in:\n${metrics}`);
  return Number(m[1]);
}

describe('server tailCacheBytes', () => {
  it(`${TOPICS} busy topics stay within the shared limit; every message is delivered exactly once`, async () => {
    const target = await startTarget();
    targets.push(target);
    const s = await startServer({ tailCacheBytes: LIMIT });
    try {
      const body = 'x'.repeat(1000);
      let peak = 0;
      for (let n = 0; n < PER_TOPIC; n++) {
        const answers = await Promise.all(
          Array.from({ length: TOPICS }, (_, t) =>
            send(s.origin, 'POST', `/v1/topics/t${t}/messages`, {
              json: { url: `${target.origin}/t${t}`, body, contentType: 'text/plain', id: `t${t}-${n}` },
            }),
          ),
        );
        for (const a of answers) expect(a.status, a.text).toBe(201);
        const used = cachedBytes((await send(s.origin, 'GET', '/metrics')).text);
        expect(used).toBeLessThanOrEqual(LIMIT);
        peak = Math.max(peak, used);
      }
      // The caches were used: the deliverers keep up with one message per topic at a time.
      expect(peak).toBeGreaterThan(0);
      await target.waitFor((rs) => rs.length >= TOPICS * PER_TOPIC);
      const ids = target.requests.map((r) => r.headers['webhook-id']);
      expect(new Set(ids).size).toBe(TOPICS * PER_TOPIC);
      expect(ids.length).toBe(TOPICS * PER_TOPIC);
    } finally {
      await s.close();
    }
  });

  it('a bad tailCacheBytes gets a typed error naming it', () => {
    expect(() => new HttpQueueServer({ dir: '/nonexistent', tailCacheBytes: -1 })).toThrow(InvalidOptionError);
    expect(() => new HttpQueueServer({ dir: '/nonexistent', tailCacheBytes: 1.5 })).toThrow(/tailCacheBytes/);
  });
});
