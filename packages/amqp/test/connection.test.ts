import { InvalidOptionError, silentLogger } from '@q/core';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../test-support/free-port.js';
import { until } from '../../../test-support/wait.js';
import { AmqpConnection, AmqpConnectionClosedError, type ClientConnection } from '../src/index.js';

const url = inject('amqpUrl');
const opened: AmqpConnection[] = [];

function open(options: Partial<ConstructorParameters<typeof AmqpConnection>[0]> = {}): AmqpConnection {
  const connection = new AmqpConnection({ url, logger: silentLogger, ...options });
  opened.push(connection);
  return connection;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

describe('AmqpConnection', () => {
  it('refuses invalid options naming them', () => {
    expect(() => new AmqpConnection({ url: 'http://x' })).toThrow(InvalidOptionError);
    expect(() => new AmqpConnection({ url: 'amqp://u:secret@h', heartbeatSeconds: 0 })).toThrow(/heartbeatSeconds/);
    expect(() => new AmqpConnection({ url, connectTimeoutMs: -1 })).toThrow(/connectTimeoutMs/);
    expect(() => new AmqpConnection({ url, reconnect: { minDelayMs: -5 } })).toThrow(/reconnect\.minDelayMs/);
    try {
      new AmqpConnection({ url: 'http://u:secret@h' });
    } catch (error) {
      expect(String(error)).not.toContain('secret');
    }
  });

  it('connects, runs the setups in registration order before ready, and at once when connected', async () => {
    const connection = open();
    const order: string[] = [];
    connection.onConnect(async () => {
      order.push('a');
    });
    connection.onConnect(async (c) => {
      const channel = await c.createChannel();
      await channel.close();
      order.push('b');
    });
    await connection.ready();
    expect(connection.connected).toBe(true);
    expect(order).toEqual(['a', 'b']);
    let late = 0;
    connection.onConnect(async () => {
      late += 1;
    });
    await until(() => late === 1, 5_000, 'the late setup');
  });

  it('a throwing setup is reported and reconnects with back-off until it succeeds', async () => {
    const errors: unknown[] = [];
    const logger = { ...silentLogger, error: (fields: Readonly<Record<string, unknown>>) => errors.push(fields.err) };
    const connection = open({ logger, reconnect: { minDelayMs: 10, maxDelayMs: 50 } });
    let calls = 0;
    const seen: ClientConnection[] = [];
    connection.onConnect(async (c) => {
      seen.push(c);
      calls += 1;
      if (calls < 3) throw new Error(`setup ${calls} fails`);
    });
    const live = await connection.ready();
    expect(calls).toBe(3);
    expect(errors).toHaveLength(2);
    expect(new Set(seen).size).toBe(3);
    expect(live).toBe(seen[2]);
  });

  it('reconnects after the broker closes the connection, runs the setups again, tells onDisconnect', async () => {
    const connection = open({ reconnect: { minDelayMs: 10, maxDelayMs: 50 } });
    let setups = 0;
    connection.onConnect(async () => {
      setups += 1;
    });
    const causes: Error[] = [];
    connection.onDisconnect((cause) => causes.push(cause));
    const first = await connection.ready();
    first.destroy();
    await until(() => setups === 2 && connection.connected, 10_000, 'the reconnect');
    expect(causes).toHaveLength(1);
    expect(await connection.ready()).not.toBe(first);
  });

  it('ready() waits while the broker is unreachable, is abortable, and rejects on close', async () => {
    const port = await freePort();
    const connection = open({ url: `amqp://127.0.0.1:${port}`, reconnect: { minDelayMs: 10, maxDelayMs: 20 } });
    const controller = new AbortController();
    const aborted = connection.ready(controller.signal);
    controller.abort(new Error('gave up'));
    await expect(aborted).rejects.toThrow('gave up');
    const pending = expect(connection.ready()).rejects.toBeInstanceOf(AmqpConnectionClosedError);
    await connection.close();
    await pending;
    await expect(connection.ready()).rejects.toBeInstanceOf(AmqpConnectionClosedError);
  });

  it('close() tells onDisconnect, and leaves no handle behind over 20 open/close cycles', async () => {
    const baseline = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    for (let i = 0; i < 20; i += 1) {
      const connection = new AmqpConnection({ url, logger: silentLogger });
      const causes: Error[] = [];
      connection.onDisconnect((cause) => causes.push(cause));
      await connection.ready();
      await connection.close();
      await until(() => causes.length === 1, 5_000, 'the disconnect');
      expect(causes[0]).toBeInstanceOf(AmqpConnectionClosedError);
    }
    await until(
      () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length <= baseline,
      5_000,
      'handles back to the baseline',
    );
  });
});
