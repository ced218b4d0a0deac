import { connect } from 'node:net';
import { startKafkaBroker } from '@q/kafka-testkit';
import { describe, expect, it } from 'vitest';

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

describe('startKafkaBroker and Symbol.asyncDispose', () => {
  it('disposing stops every broker', async () => {
    const broker = await startKafkaBroker({ brokers: 2 });
    expect(await Promise.all(broker.bootstrap.map(listening))).toEqual([true, true]);
    await broker[Symbol.asyncDispose]();
    expect(await Promise.all(broker.bootstrap.map(listening))).toEqual([false, false]);
  });
});
