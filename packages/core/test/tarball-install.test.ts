import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  buildAndPack,
  type Config,
  createApp,
  exec,
  npmInstall,
  type Output,
  runProgram,
  startInstalledBroker,
  typecheck,
  workspacePackages,
} from './support/packed-install.js';

// The packages as npm users get them: every package under packages/ built and packed, the tarballs
// installed with plain npm into a fresh "type": "module" project outside the workspace, programs
// type-checked with that project's tsc (--strict; node16 and bundler resolution, and CommonJS with
// module node20) against the packed .d.ts files and run against a real redis-server and the installed
// testkit's broker; then required from a .cjs file, and the Redis part run again with ioredis 6.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures/installed-app/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'q-tarballs-'));
const app = join(work, 'app');
const packages = workspacePackages(root);
const names = packages.map((dir) => `@q/${dir}`);
const redisEnv = () => ({ REDIS_URL: inject('redisUrl') });
const configs: Config[] = ['node16', 'bundler', 'commonjs'];

let tarballs: string[] = [];
let installed: Output;

beforeAll(async () => {
  tarballs = await buildAndPack(root, work, packages);
  const programs = Object.fromEntries(readdirSync(fixtures).map((f) => [f, readFileSync(join(fixtures, f), 'utf8')]));
  installed = await createApp(app, programs, tarballs, [
    'ioredis@5.11.1',
    'kafkajs@2.2.4',
    'amqplib@2.3.1',
    'prom-client@15.1.3',
    '@opentelemetry/api@1.9.1',
    '@opentelemetry/sdk-trace-base@2.12.1',
    'typescript@5.9.3',
    '@types/node@20',
  ]);
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A round trip's counts, as the fixture programs print them. */
interface Counts {
  sent: number;
  deliveries: number;
  missing: number;
  unexpected: number;
}

/** Every message sent arrived, nothing else did; redeliveries are allowed when `atLeastOnce`. */
function expectAllArrived(counts: Counts, atLeastOnce: boolean): void {
  expect(counts.missing).toBe(0);
  expect(counts.unexpected).toBe(0);
  if (atLeastOnce) expect(counts.deliveries).toBeGreaterThanOrEqual(counts.sent);
  else expect(counts.deliveries).toBe(counts.sent);
}

/** The Redis program, against the run's redis-server, in both delivery modes (see fixtures/installed-app/redis.ts). */
async function expectRedisRoundTrips(): Promise<void> {
  const results = (await runProgram(app, 'out/redis.js', redisEnv())) as (Counts & { mode: string; failed: number })[];
  expect(results.map((r) => r.mode)).toEqual(['at-most-once', 'at-least-once']);
  const [atMostOnce, atLeastOnce] = results;
  expect(atMostOnce?.sent).toBe(300);
  expectAllArrived(atMostOnce!, false);
  expect(atLeastOnce?.sent).toBe(300);
  // The 30 failed first deliveries came back through the retry list.
  expect(atLeastOnce?.failed).toBe(30);
  expect(atLeastOnce?.deliveries).toBeGreaterThanOrEqual(330);
  expectAllArrived(atLeastOnce!, true);
}

describe('the packed packages, installed with npm into a fresh project', () => {
  it('are every directory under packages/, installed without peer dependency warnings', () => {
    const expected = packages.map((dir) => {
      const { version } = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
      return `q-${dir}-${version}.tgz`;
    });
    expect(tarballs.map((t) => basename(t))).toEqual(expected);
    expect(packages).toEqual(
      expect.arrayContaining([
        'core',
        'redis',
        'kafka',
        'kafka-testkit',
        'log',
        'outbox',
        'http',
        'otel',
        'prometheus',
        'amqp',
      ]),
    );
    expect(installed.stderr).not.toMatch(/peer|ERESOLVE/i);
  });

  it('type-check under tsc --strict: imported with node16 and bundler resolution, required from CommonJS', async () => {
    await Promise.all(configs.map((config) => typecheck(app, config)));
  }, 180_000);

  it('a Queue moves 100 messages', async () => {
    expect(await runProgram(app, 'out/queue.js')).toEqual({ distinct: 100 });
  });

  it('@q/otel traces each message of a Queue and @q/prometheus exports its counts', async () => {
    expect(await runProgram(app, 'out/telemetry.js')).toEqual({
      consumed: 100,
      spans: 100,
      spanNames: ['process installed'],
      consumedMetric: 'q_messages_consumed_total{queue="installed"} 100',
    });
  });

  it("RedisListPusher and redisListProducerFactory move every message through the run's redis-server", async () => {
    await expectRedisRoundTrips();
  }, 60_000);

  it('an Outbox forwards every message to Redis once, and a replay of its whole log adds nothing', async () => {
    expect(await runProgram(app, 'out/outbox.js', redisEnv())).toEqual({
      sent: 300,
      distinctIds: 300,
      listed: 300,
      distinct: 300,
    });
  }, 60_000);

  it('an HttpDeliverer delivers every record of a log once, each signature verified', async () => {
    expect(await runProgram(app, 'out/http.js')).toEqual({ delivered: 200, distinctIds: 200, badSignatures: 0 });
  }, 60_000);

  it("the installed q-log, q-outbox and q-http commands run from dist/ through @q/core's launcher", async () => {
    for (const [command, usage] of [
      ['q-log', 'Usage: q-log'],
      ['q-outbox', 'Usage: q-outbox serve'],
      ['q-http', 'Usage: q-http serve'],
    ] as const) {
      const { stdout, stderr } = await exec(app, join(app, 'node_modules', '.bin', command), ['--help']);
      expect(`${stdout}${stderr}`).toContain(usage);
    }
  }, 60_000);

  it('KafkaPusher and KafkaQueue move every message through the broker of the installed q-kafka-testkit bin', async () => {
    const topic = 'installed';
    const broker = await startInstalledBroker(app, ['--partitions', '4', '--topic', topic]);
    try {
      expect(broker.bootstrap).toMatch(/^127\.0\.0\.1:\d+$/);
      const counts = (await runProgram(app, 'out/kafka.js', {
        KAFKA_BROKERS: broker.bootstrap,
        KAFKA_TOPIC: topic,
      })) as Counts;
      expect(counts.sent).toBe(300);
      expectAllArrived(counts, true);
    } finally {
      await broker.stop();
    }
  }, 60_000);

  it("AmqpPusher and amqpProducerFactory move every message through the run's RabbitMQ, nothing left unacked", async () => {
    expect(await runProgram(app, 'out/amqp.js', { AMQP_URL: inject('amqpUrl') })).toEqual({
      sent: 300,
      distinct: 300,
      deliveries: 300,
      left: 0,
    });
  }, 60_000);

  it('load with plain require() from CommonJS (Node >= 20.19 requires ES modules)', async () => {
    const result = (await runProgram(app, 'require.cjs', {}, [...names, '@q/core/internal'])) as {
      loaded: Record<string, string[]>;
      deque: number;
      consumed: number[];
    };
    expect(Object.keys(result.loaded).sort()).toEqual([...names, '@q/core/internal'].sort());
    expect(result.loaded['@q/core']).toEqual(expect.arrayContaining(['Queue', 'fromIterable', 'QueueError']));
    expect(result.loaded['@q/core/internal']).toEqual(expect.arrayContaining(['Deque', 'duration']));
    expect(result.loaded['@q/redis']).toEqual(expect.arrayContaining(['RedisListPusher', 'redisListProducerFactory']));
    expect(result.loaded['@q/kafka']).toEqual(expect.arrayContaining(['KafkaPusher', 'KafkaQueue']));
    expect(result.loaded['@q/kafka-testkit']).toEqual(expect.arrayContaining(['startKafkaBroker', 'spawnKafkaBroker']));
    expect(result.loaded['@q/otel']).toEqual(expect.arrayContaining(['tracedConsumer', 'tracedPusher']));
    expect(result.loaded['@q/prometheus']).toEqual(expect.arrayContaining(['registerQueueMetrics']));
    expect(result.loaded['@q/outbox']).toEqual(expect.arrayContaining(['Outbox', 'OutboxClosedError']));
    expect(result.loaded['@q/amqp']).toEqual(expect.arrayContaining(['AmqpPusher', 'amqpProducerFactory']));
    expect(result.loaded['@q/log']).toEqual(expect.arrayContaining(['openLog', 'SegmentLog']));
    expect(result.loaded['@q/http']).toEqual(
      expect.arrayContaining(['HttpDeliverer', 'DeliveryEngine', 'signWebhook']),
    );
    expect(result.deque).toBe(1);
    expect(result.consumed).toEqual([1, 2, 3]);
  });

  // Last: it replaces ioredis in the project.
  it('with ioredis 6 instead of 5: installs without a peer warning, type-checks and moves every message', async () => {
    const { stderr } = await npmInstall(app, ['ioredis@6.0.0']);
    expect(stderr).not.toMatch(/peer|ERESOLVE/i);
    const ioredis = JSON.parse(readFileSync(join(app, 'node_modules/ioredis/package.json'), 'utf8'));
    expect(ioredis.version).toBe('6.0.0');
    // node16 alone: the ioredis types are the same under every resolution, and it emits the program.
    await typecheck(app, 'node16');
    await expectRedisRoundTrips();
  }, 180_000);
});
