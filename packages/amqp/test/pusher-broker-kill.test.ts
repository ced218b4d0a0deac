import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfirmUnknownError, silentLogger } from '@q/core';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RabbitMqServer, startRabbitMq } from '../../../test-support/rabbitmq-server.js';
import { until } from '../../../test-support/wait.js';
import { AmqpConnection, AmqpPusher, PublishTimeoutError, Topology } from '../src/index.js';

let server: RabbitMqServer;

beforeAll(async () => {
  server = await startRabbitMq();
});

afterAll(async () => {
  const pid = nodePid();
  await server?.dispose();
  // The node outliving its dispose would keep running with its directory gone.
  if (pid !== undefined) killQuietly(pid);
});

/** The Erlang VM's OS pid, from the node's pid file (the child we hold is a shell script around it). */
function nodePid(): number | undefined {
  try {
    const pid = Number(readFileSync(join(server.dir, 'rabbitmq.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

/**
 * SIGKILLs the broker itself: `stop({ kill: true })` kills only the rabbitmq-server shell script,
 * whose Erlang VM would live on, still serving.
 */
async function killBroker(): Promise<void> {
  const pid = nodePid();
  if (pid === undefined) throw new Error('no pid file: cannot SIGKILL the broker');
  killQuietly(pid);
  await server.stop({ kill: true });
}

/** The last 4 KB of the node's log files. */
function nodeLog(): string {
  try {
    const dir = join(server.dir, 'log');
    return readdirSync(dir)
      .map((f) => readFileSync(join(dir, f), 'utf8').slice(-4096))
      .join('\n');
  } catch (error) {
    return String(error);
  }
}

/** Every message body in `queue`, read with a plain amqplib connection. */
async function bodiesIn(url: string, queue: string): Promise<string[]> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    const bodies: string[] = [];
    for (let i = 0; i < 100_000; i += 1) {
      const message = await channel.get(queue, { noAck: true });
      if (message === false) break;
      bodies.push(message.content.toString());
    }
    return bodies;
  } finally {
    await connection.close();
  }
}

describe('AmqpPusher when the broker is SIGKILLed mid-stream', () => {
  it('unconfirmed pushes reject as unknown, never as confirmed; every confirmed one is there after the restart', async () => {
    const queue = 'kill-stream';
    // The queue is declared, then the broker's metadata log synced, before the stream: the stream reaches
    // the kill ~0.1 s after it starts, and a SIGKILL that soon after a declaration can lose the declaration
    // itself (RabbitMQ's Mnesia log), and with the queue every message in it. That is the broker's
    // metadata, not what this test is about: confirmed messages on a durable queue surviving the kill.
    const setup = await amqp.connect(server.url);
    await (await setup.createChannel()).assertQueue(queue, { durable: true });
    await setup.close();
    server.ctl('eval', 'ok = mnesia:sync_log().');
    const connection = new AmqpConnection({
      url: server.url,
      heartbeatSeconds: 2,
      connectTimeoutMs: 2_000,
      reconnect: { minDelayMs: 50, maxDelayMs: 500 },
      logger: silentLogger,
    });
    const topology = new Topology({ queues: [{ name: queue, durable: true }] });
    const pusher = new AmqpPusher({
      connection,
      exchange: '',
      routingKey: queue,
      topology,
      confirmTimeoutMs: 3_000,
      logger: silentLogger,
    });
    const resolved = new Set<string>();
    const failures = new Map<string, number>();
    const inFlight = new Set<Promise<void>>();
    let killed = false;
    let stopped: Promise<void> | undefined;
    let pushed = 0;
    // A bounded stream: at most 512 pushes awaiting their confirms, until the kill has failed some.
    for (let i = 0; i < 50_000 && !(killed && failures.size > 0); i += 1) {
      const body = `m${i}`;
      const push = pusher.pushAndConfirm(body).then(
        () => {
          resolved.add(body);
        },
        (error: unknown) => {
          const name = (error as Error).constructor.name;
          failures.set(name, (failures.get(name) ?? 0) + 1);
          expect(error instanceof ConfirmUnknownError || error instanceof PublishTimeoutError).toBe(true);
        },
      );
      pushed += 1;
      inFlight.add(push);
      void push.finally(() => inFlight.delete(push));
      if (inFlight.size >= 512) await Promise.race(inFlight);
      if (!killed && resolved.size >= 2_000) {
        killed = true;
        // Not awaited: the stream goes on while the node dies, so publishes are on the wire.
        stopped = killBroker();
      }
    }
    await Promise.all(inFlight);
    await stopped;
    expect(killed).toBe(true);
    expect(failures.get('ConfirmUnknownError') ?? 0).toBeGreaterThan(0);
    expect(resolved.size + [...failures.values()].reduce((a, b) => a + b, 0)).toBe(pushed);

    await server.start();
    await until(() => connection.connected, 30_000, 'the reconnect');
    await pusher.pushAndConfirm('after the restart');
    await pusher.close();
    await connection.close();

    const received = new Set(await bodiesIn(server.url, queue));
    const missing = [...resolved].filter((body) => !received.has(body));
    // On a failure, what the node logged (warnings and worse) says whether the queue or its messages went.
    expect(missing, missing.length === 0 ? '' : `${missing.length} confirmed missing; node log:\n${nodeLog()}`).toEqual(
      [],
    );
    expect(received.has('after the restart')).toBe(true);
  }, 60_000);
});
