/**
 * The chaos tests' brokers, each a process of its own that the test can freeze (SIGSTOP), crash
 * (SIGKILL) and start again on the same data and port, so that clients find it where they left it:
 * a redis-server with an fsync'd append-only file, and the Kafka test broker with a data directory.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SpawnedKafkaBroker, spawnKafkaBroker } from '@q/kafka-testkit';
import { Redis } from 'ioredis';
import { delay } from '../../../../test-support/wait.js';
import { type RedisServer, startRedisServer } from '../../../redis/test/support/redis-server.js';

/** A broker the chaos schedule can stop and crash. */
export interface ChaosBroker {
  /** `redis` or `kafka`. */
  readonly kind: 'redis' | 'kafka';
  /** The `--sink` URL of `q-outbox serve` (and of the in-process worker) for this broker. */
  readonly sinkUrl: string;
  /** Freezes the process (SIGSTOP) for `ms`, then lets it go on (SIGCONT). */
  pause(ms: number): Promise<void>;
  /** Kills the process (SIGKILL), waits `downMs`, and starts it again on the same data and port. */
  crash(downMs: number): Promise<void>;
  /** Resumes it if frozen, stops it and removes its data. Idempotent, never throws. */
  dispose(): Promise<void>;
}

/** Sends SIGCONT to `pid`, ignoring a process already gone. */
function resume(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // Gone already: nothing to resume.
  }
}

/** A redis-server's process id, as it tells it. */
async function redisPid(url: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const info = await client.info('server');
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no process_id in INFO: ${info}`);
    return pid;
  } finally {
    client.disconnect();
  }
}

/** The Redis broker, and the list key its sink URL names. */
export interface RedisChaosBroker extends ChaosBroker {
  readonly kind: 'redis';
  readonly url: string;
  readonly key: string;
}

/**
 * A redis-server of the test's own: append-only file synced on every write, so every write it
 * answered (list pushes and the outbox's high-water marks alike) survives its SIGKILL.
 */
export async function redisChaosBroker(): Promise<RedisChaosBroker> {
  const server: RedisServer = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  let pid: number | undefined = await redisPid(server.url);
  let frozen = false;
  // A test process that dies without its afterAll must not leave a redis-server behind.
  const killOnExit = (): void => {
    try {
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  };
  process.on('exit', killOnExit);
  const key = `chaos:${randomUUID()}`;
  return {
    kind: 'redis',
    url: server.url,
    key,
    sinkUrl: `${server.url}/${key}`,
    async pause(ms) {
      process.kill(pid as number, 'SIGSTOP');
      frozen = true;
      try {
        await delay(ms);
      } finally {
        resume(pid);
        frozen = false;
      }
    },
    async crash(downMs) {
      await server.stop({ kill: true });
      pid = undefined;
      await delay(downMs);
      await server.start();
      pid = await redisPid(server.url);
    },
    async dispose() {
      if (frozen) resume(pid);
      // A SIGTERM may wait for a slow AOF rewrite: a kill is enough, the directory goes anyway.
      await server.stop({ kill: true }).catch(() => undefined);
      process.off('exit', killOnExit);
      rmSync(server.dir, { recursive: true, force: true });
    },
  };
}

/** The Kafka broker, and the topic its sink URL names. */
export interface KafkaChaosBroker extends ChaosBroker {
  readonly kind: 'kafka';
  /** `host:port` to bootstrap from (the same after every restart). */
  readonly bootstrap: string[];
  readonly topic: string;
  readonly partitions: number;
}

/**
 * The Kafka test broker in its own process, keeping its topics and records in a temp directory
 * (written before each answer, so they survive SIGKILL; no fsync, as no power is lost here).
 */
export async function kafkaChaosBroker(partitions: number): Promise<KafkaChaosBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'q-chaos-kafka-'));
  const topic = `chaos-${randomUUID()}`;
  let broker: SpawnedKafkaBroker | undefined;
  let frozen = false;
  try {
    broker = await spawnKafkaBroker({ dataDir, partitions, topics: [topic] });
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const port = broker.port;
  const bootstrap = [`127.0.0.1:${port}`];
  return {
    kind: 'kafka',
    bootstrap,
    topic,
    partitions,
    sinkUrl: `kafka://${bootstrap.join(',')}/${topic}`,
    async pause(ms) {
      const pid = broker?.pid as number;
      process.kill(pid, 'SIGSTOP');
      frozen = true;
      try {
        await delay(ms);
      } finally {
        resume(pid);
        frozen = false;
      }
    },
    async crash(downMs) {
      await broker?.kill();
      broker = undefined;
      await delay(downMs);
      broker = await spawnKafkaBroker({ dataDir, port, partitions });
    },
    async dispose() {
      if (frozen) resume(broker?.pid);
      await broker?.kill().catch(() => undefined);
      broker = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
