import { inspect } from 'node:util';
import { Queue } from '@q/core';
import { redisListProducerFactory } from '@q/redis';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

// ioredis hangs the failed command with its arguments on a ReplyError (`error.command.args`); for the
// LPUSH that gives unconsumed messages back at a stop, those are message bodies. The error reaches the
// queue's logger (settle and close failures), where pino's err serializer prints every property.
describe('at-most-once: a failed give-back carries no message body', () => {
  it('neither the log lines nor the errors reported hold the body', async () => {
    const redis = client();
    const admin = client();
    const key = uniqueKey('amo-give-back');
    await admin.rpush(key, 'SECRET-BODY');
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const reported: unknown[] = [];
    let holding = false;
    const q = new Queue(
      redisListProducerFactory({ redis, key, mode: 'at-most-once', logger }),
      () => ({
        consume: (_m: unknown, context: { signal: AbortSignal }) =>
          new Promise<void>((resolve) => {
            holding = true;
            context.signal.addEventListener('abort', () => resolve(), { once: true });
          }),
      }),
      { logger },
    );
    const done = q.start();
    await until(() => holding, 10_000, 'the handler holding the message');
    // The list is not a list any more: the give-back's LPUSH fails with WRONGTYPE.
    await admin.set(key, 'not a list');
    await q.stop({ timeoutMs: 50 }).catch((error: unknown) => reported.push(error));
    await done.catch((error: unknown) => reported.push(error));
    await until(() => lines.some((l) => l.includes('WRONGTYPE')), 10_000, 'the failed give-back logged');
    const logged = lines.join('\n');
    expect(logged).not.toMatch(/SECRET-BODY/);
    for (const error of reported) expect(inspect(error, { depth: 5 })).not.toMatch(/SECRET-BODY/);
  });
});
