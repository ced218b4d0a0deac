import { randomUUID } from 'node:crypto';
import { ConfirmUnknownError, silentLogger } from '@q/core';
import amqp from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../../test-support/tcp-proxy.js';
import { until } from '../../../test-support/wait.js';
import { AmqpConnection, AmqpPusher, HeartbeatTimeoutError, Topology } from '../src/index.js';

const url = inject('amqpUrl');
const HEARTBEAT_SECONDS = 2;
let proxy: TcpProxy;
let admin: amqp.ChannelModel;
const queues: string[] = [];

beforeAll(async () => {
  admin = await amqp.connect(url);
});

afterEach(async () => {
  await proxy?.close();
});

afterAll(async () => {
  const channel = await admin.createChannel();
  for (const q of queues) await channel.deleteQueue(q);
  await admin.close();
});

/** `url` through a fresh fault proxy. */
async function proxied(): Promise<string> {
  const target = new URL(url);
  proxy = await startTcpProxy({ port: Number(target.port), host: target.hostname });
  target.host = `${proxy.host}:${proxy.port}`;
  return target.toString();
}

async function queueExists(name: string): Promise<boolean> {
  const channel = await admin.createChannel();
  channel.on('error', () => {});
  try {
    await channel.checkQueue(name);
    await channel.close();
    return true;
  } catch {
    return false;
  }
}

describe('a half-open connection (a proxy that stops forwarding without closing)', () => {
  it('is detected within 2x the heartbeat, reconnects, re-declares the topology, and pushes work again', async () => {
    const queue = `half-open-${randomUUID().slice(0, 8)}`;
    queues.push(queue);
    const connection = new AmqpConnection({
      url: await proxied(),
      heartbeatSeconds: HEARTBEAT_SECONDS,
      connectTimeoutMs: 1_000,
      reconnect: { minDelayMs: 50, maxDelayMs: 200 },
      logger: silentLogger,
    });
    const pusher = new AmqpPusher({
      connection,
      exchange: '',
      routingKey: queue,
      topology: new Topology({ queues: [{ name: queue }] }),
      confirmTimeoutMs: 20_000,
      logger: silentLogger,
    });
    try {
      await pusher.pushAndConfirm('before');
      const causes: { cause: Error; at: number }[] = [];
      connection.onDisconnect((cause) => causes.push({ cause, at: performance.now() }));

      const stalledAt = performance.now();
      proxy.stall();
      const unconfirmed = Promise.allSettled([pusher.pushAndConfirm('stalled 1'), pusher.pushAndConfirm('stalled 2')]);
      await until(() => causes.length > 0, 10_000, 'the loss to be noticed');
      const detectedMs = (causes[0]?.at ?? 0) - stalledAt;
      expect(detectedMs).toBeLessThanOrEqual(2 * HEARTBEAT_SECONDS * 1000);
      expect(causes[0]?.cause).toBeInstanceOf(HeartbeatTimeoutError);
      // Whether the broker got them is unknown: they must not be reported as confirmed.
      for (const outcome of await unconfirmed) {
        expect(outcome.status).toBe('rejected');
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(ConfirmUnknownError);
      }

      // The queue goes while we are cut off; the reconnect must declare it again.
      await (await admin.createChannel()).deleteQueue(queue);
      proxy.resume();
      await until(() => connection.connected, 15_000, 'the reconnect');
      await pusher.pushAndConfirm('after');
      expect(await queueExists(queue)).toBe(true);
      const channel = await admin.createChannel();
      const got = await channel.get(queue, { noAck: true });
      expect(got === false ? undefined : got.content.toString()).toBe('after');
      await channel.close();
    } finally {
      await pusher.close();
      await connection.close();
    }
  }, 40_000);

  it('close() ends within its deadline while the broker is unreachable; the unconfirmed are unknown; no handle left', async () => {
    const queue = `half-open-close-${randomUUID().slice(0, 8)}`;
    queues.push(queue);
    const through = await proxied();
    const baseline = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    const pusher = new AmqpPusher({
      url: through,
      exchange: '',
      routingKey: queue,
      topology: new Topology({ queues: [{ name: queue }] }),
      logger: silentLogger,
    });
    await pusher.pushAndConfirm('before');
    proxy.stall();
    const unconfirmed = pusher.pushAndConfirm('stalled');
    const outcome = unconfirmed.then(
      () => 'confirmed',
      (error: unknown) => error,
    );
    const started = performance.now();
    await pusher.close({ timeoutMs: 1_000 });
    // Its deadline plus slack for a loaded 2-core runner (a close that waited for the stalled
    // confirm or the heartbeat would take several seconds more).
    expect(performance.now() - started).toBeLessThan(2_500);
    expect(await outcome).toBeInstanceOf(ConfirmUnknownError);
    await until(
      () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length <= baseline,
      5_000,
      'handles back to the baseline',
    );
  });
});
