import { inspect } from 'node:util';
import { InvalidMessageError, RedisListPusher } from '@q/redis';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

// ioredis puts the failed command on its ReplyError (`error.command.args`): for RPUSH those are the
// message bodies, and pino's err serializer and console.error print every enumerable property.
// "Nothing in @q logs message bodies" must hold for failed writes too.
describe('RedisListPusher: a failed write carries no message body', () => {
  it('neither the rejected confirm nor the default log line holds the body', async () => {
    const redis = client();
    const key = uniqueKey('wrong-type');
    await redis.set(key, 'not a list');
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const pusher = new RedisListPusher({ redis, key, logger, flushIntervalMs: 1 });
    const error = await pusher.pushAndConfirm('SECRET-BODY-1').catch((e: unknown) => e);
    void pusher.push('SECRET-BODY-2');
    await until(() => lines.length >= 2);
    await pusher.close();
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/WRONGTYPE/);
    expect(inspect(error, { depth: 5 })).not.toMatch(/SECRET-BODY/);
    expect(JSON.stringify((error as { command?: unknown }).command)).toMatch(/rpush/);
    expect(lines.join('\n')).toMatch(/WRONGTYPE/);
    expect(lines.join('\n')).not.toMatch(/SECRET-BODY/);
  });
});

describe('InvalidMessageError keeps the message out of logs', () => {
  it('holds the invalid value for the caller, but loggers (own enumerable properties) do not print it', async () => {
    const redis = client();
    const pusher = new RedisListPusher({ redis, key: uniqueKey('invalid'), flushIntervalMs: 1 });
    const message = { body: 42, secret: 'SECRET-FIELD' };
    const error = (await pusher.push(message as never).catch((e: unknown) => e)) as InvalidMessageError;
    await pusher.close();
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect(error.value).toBe(message);
    const lines: string[] = [];
    pino({}, { write: (line: string) => void lines.push(line) }).error({ err: error }, 'push failed');
    expect(lines.join('')).toMatch(/Q_INVALID_MESSAGE/);
    expect(lines.join('')).not.toMatch(/SECRET-FIELD/);
    expect(inspect(error)).not.toMatch(/SECRET-FIELD/);
  });
});
