// Review L (pin, passing): since 438bf4d the outbox attaches each message's id taken apart (OUTBOX_ID) and
// RedisListPusher's dedupe writer uses it while `q-outbox-id` still reads the same id. A wrapper sink that
// rewrites the header (a spread copy keeps the symbol; an in-place rewrite; a Buffer value) must get the
// high-water mark of the header it wrote, never the attached id's.
import type { PushInfo } from '@q/core';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { Outbox, type OutboxSink, type OutboxSinkMessage } from '../src/index.js';
import { listBodies, redisSink, silentLogger, tempDir } from './support/fixtures.js';

type Rewrite = (m: OutboxSinkMessage) => OutboxSinkMessage;

async function run(rewrite: Rewrite): Promise<{ outbox: string; marks: Record<string, string>; bodies: string[] }> {
  const { sink, redis, key, highWaterKey } = redisSink();
  const wrapper = {
    name: () => sink.name(),
    push: (m: OutboxSinkMessage, info?: PushInfo) => sink.push(rewrite(m) as never, info),
    pushBatch: (ms: readonly OutboxSinkMessage[], info?: PushInfo) => sink.pushBatch(ms.map(rewrite) as never, info),
  } as unknown as OutboxSink;
  const outbox = new Outbox({ dir: tempDir('review-l-wrap'), sink: wrapper, id: 'box', logger: silentLogger });
  for (let i = 0; i < 3; i++) await outbox.send(`m${i}`);
  await until(async () => (await listBodies(redis, key)).length >= 3);
  const marks = await redis.hgetall(highWaterKey);
  const bodies = await listBodies(redis, key);
  await outbox.close();
  return { outbox: outbox.id, marks, bodies };
}

const renamed = (h: Record<string, string>): string => `env-${h['q-outbox-id']}`.replace(':', '.x:');

describe('review L: a wrapper sink that rewrites q-outbox-id', () => {
  it('a spread copy with a new header: the mark is the header outbox', async () => {
    const r = await run((m) => ({ ...m, headers: { ...m.headers, 'q-outbox-id': renamed(m.headers) } }) as never);
    expect(r.bodies).toEqual(['m0', 'm1', 'm2']);
    expect(r.marks).toEqual({ 'env-box.x': '2' });
  });

  it('the header rewritten in place: the mark is the header outbox', async () => {
    const r = await run((m) => {
      m.headers['q-outbox-id'] = renamed(m.headers);
      return m;
    });
    expect(r.marks).toEqual({ 'env-box.x': '2' });
  });

  it('the same id as a Buffer: the mark is the outbox', async () => {
    const r = await run(
      (m) =>
        ({ ...m, headers: { ...m.headers, 'q-outbox-id': Buffer.from(m.headers['q-outbox-id'] as string) } }) as never,
    );
    expect(r.marks).toEqual({ box: '2' });
  });
});
