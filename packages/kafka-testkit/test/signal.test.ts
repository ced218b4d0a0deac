import { getEventListeners } from 'node:events';
import { connect } from 'node:net';
import { spawnKafkaBroker, startKafkaBroker } from '@q/kafka-testkit';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';

/** Whether something accepts connections on `host:port`. */
function listening(address: string): Promise<boolean> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Handles of this process by kind (`Server`, `ChildProcess`, ...). */
function handles(kind: string): number {
  const all = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return all.filter((h) => (h as object)?.constructor?.name === kind).length;
}

/** Whether a process with this id exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startKafkaBroker signal', () => {
  it('already aborted: rejects with the reason, nothing listens', async () => {
    const servers = handles('Server');
    const reason = new Error('not wanted');
    await expect(startKafkaBroker({ brokers: 2, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(handles('Server')).toBe(servers);
  });

  it('aborted while the brokers start: the ones listening are stopped, rejects with the reason', async () => {
    const servers = handles('Server');
    const controller = new AbortController();
    const reason = new Error('gave up');
    const starting = startKafkaBroker({ brokers: 3, signal: controller.signal });
    controller.abort(reason); // the first broker is still binding its port
    await expect(starting).rejects.toBe(reason);
    // Closed servers leave the handle list on a later turn of the event loop.
    await until(() => handles('Server') === servers, 2000, 'no server left');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('aborted after start: every broker stops, like stop(); stop() then is harmless and removes nothing twice', async () => {
    const controller = new AbortController();
    const broker = await startKafkaBroker({ brokers: 2, signal: controller.signal });
    expect(await Promise.all(broker.bootstrap.map(listening))).toEqual([true, true]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    await until(async () => (await Promise.all(broker.bootstrap.map(listening))).every((l) => !l), 5000, 'stopped');
    await broker.stop();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('stop() removes the listener from a long-lived signal', async () => {
    const controller = new AbortController();
    const broker = await startKafkaBroker({ signal: controller.signal });
    await broker.stop();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('a signal that is not an AbortSignal is a TypeError naming it', async () => {
    await expect(startKafkaBroker({ signal: {} as AbortSignal })).rejects.toThrow(/"signal"/);
  });
});

describe('spawnKafkaBroker signal', () => {
  it('aborted before the address came: the process is killed and gone, rejects with the reason', async () => {
    const children = handles('ChildProcess');
    const controller = new AbortController();
    const reason = new Error('gave up');
    const starting = spawnKafkaBroker({ signal: controller.signal });
    setTimeout(() => controller.abort(reason), 20); // well before a fresh Node process prints
    await expect(starting).rejects.toBe(reason);
    // The process exited before the promise settled; its handle goes on a later turn.
    await until(() => handles('ChildProcess') === children, 2000, 'no child process left');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await expect(spawnKafkaBroker({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  }, 30_000);

  it('aborted after start: the process exits, as with stop()', async () => {
    const controller = new AbortController();
    const broker = await spawnKafkaBroker({ signal: controller.signal });
    expect(alive(broker.pid)).toBe(true);
    controller.abort();
    await until(() => !alive(broker.pid), 10_000, 'the broker process to exit');
    await broker.stop(); // harmless after the abort
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  }, 60_000);
});
