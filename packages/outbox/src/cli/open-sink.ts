import { InvalidOptionError, type Logger } from '@q/core';
import type { OutboxSink } from '../index.js';
import { describeSink, type KafkaSinkSpec, type RedisSinkSpec, type SinkSpec } from './sink-url.js';

/** A sink pusher the CLI made, and how to let go of it. */
export interface OpenedSink {
  /** What the outbox pushes to. */
  readonly pusher: OutboxSink;
  /** The sink's URL without its password. */
  readonly name: string;
  /** Flushes and closes the pusher and its client. */
  close(): Promise<void>;
}

/**
 * Redis: how long one write may go unanswered before it fails (and the forwarder retries it, the
 * high-water mark dropping whatever of it had landed). Without it a stopped Redis holds the
 * forwarder's batch forever and the sink never reads as down.
 */
const REDIS_COMMAND_TIMEOUT_MS = 10_000;

/**
 * Makes the pusher for `spec`, importing its client only now: `@q/outbox` needs only the one
 * of `@q/redis` + `ioredis` or `@q/kafka` + `kafkajs` it uses (optional peer dependencies).
 *
 * - Redis: `RedisListPusher` with `dedupe: 'outbox-id'` (a replayed message is not pushed twice)
 *   on an ioredis client that fails a command after one lost reconnect or 10 s without an answer.
 * - Kafka: `KafkaPusher` with the idempotent producer and `acks: -1`.
 *
 * @throws {InvalidOptionError} (option `sink`) when the sink's packages are not installed.
 */
export async function openSink(spec: SinkSpec, logger: Logger): Promise<OpenedSink> {
  return spec.kind === 'redis' ? openRedis(spec, logger) : openKafka(spec, logger);
}

async function openRedis(spec: RedisSinkSpec, logger: Logger): Promise<OpenedSink> {
  const [{ RedisListPusher }, { Redis }] = await Promise.all([
    import('@q/redis').catch(missing(spec, '@q/redis ioredis')),
    import('ioredis').catch(missing(spec, '@q/redis ioredis')),
  ]);
  const redis = new Redis({
    host: spec.host,
    port: spec.port,
    db: spec.db,
    username: spec.username,
    password: spec.password,
    ...(spec.tls ? { tls: {} } : {}),
    maxRetriesPerRequest: 1,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectionName: 'q-outbox',
  });
  // The outbox logs the sink going down and up once each; ioredis would log every reconnect.
  redis.on('error', (err: unknown) => logger.debug({ err }, 'redis connection error'));
  const pusher = new RedisListPusher({ redis, key: spec.key, dedupe: 'outbox-id', logger });
  return {
    pusher,
    name: describeSink(spec),
    async close() {
      await pusher.close().catch((err: unknown) => logger.warn({ err }, 'closing the redis pusher failed'));
      // QUIT on a client still trying to connect would wait for the connection.
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}

async function openKafka(spec: KafkaSinkSpec, logger: Logger): Promise<OpenedSink> {
  const { KafkaPusher } = await import('@q/kafka').catch(missing(spec, '@q/kafka kafkajs'));
  const pusher = new KafkaPusher({
    brokers: [...spec.brokers],
    topic: spec.topic,
    idempotent: true,
    acks: -1,
    clientId: 'q-outbox',
    logger,
  });
  return {
    pusher,
    name: describeSink(spec),
    close: () => pusher.close({ timeoutMs: 5000 }),
  };
}

function missing(spec: SinkSpec, packages: string): (error: unknown) => never {
  return (error) => {
    const err = new InvalidOptionError(
      'sink',
      describeSink(spec),
      `a sink whose packages are installed (${error instanceof Error ? error.message : String(error)}): npm install ${packages}`,
    );
    throw err;
  };
}
