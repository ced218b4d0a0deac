import { createServer, type Socket } from 'node:net';
import { InvalidOptionError, silentLogger } from '@q/core';
import { expect, it } from 'vitest';
import { delay } from '../../../test-support/wait.js';
import { AmqpPusher, type AmqpPusherOptions, amqpProducerFactory } from '../src/index.js';

const url = 'amqp://guest:guest@127.0.0.1:1';

// The factory's TSDoc: "Options are checked at once (throwing InvalidOptionError)". The url's scheme
// and connectionOptions are only checked when the Queue first calls the factory.
it('DEFECT options-late: amqpProducerFactory checks url and connectionOptions at once', () => {
  expect(() => amqpProducerFactory({ url: 'http://127.0.0.1', queue: 'q', logger: silentLogger })).toThrow(
    InvalidOptionError,
  );
  expect(() =>
    amqpProducerFactory({ url, queue: 'q', connectionOptions: { heartbeatSeconds: 0 }, logger: silentLogger }),
  ).toThrow(InvalidOptionError);
  expect(() =>
    amqpProducerFactory({ url, queue: 'q', connectionOptions: { connectTimeoutMs: -1 }, logger: silentLogger }),
  ).toThrow(InvalidOptionError);
});

// STYLE: invalid options throw InvalidOptionError naming the option; these throw TypeErrors.
it('DEFECT options-typeerror: AmqpPusher refuses a connection, topology or shutdown of the wrong kind with InvalidOptionError', () => {
  const base = { exchange: '', routingKey: 'q', logger: silentLogger };
  const bad: Partial<AmqpPusherOptions>[] = [
    { connection: {} as never },
    { url, topology: {} as never },
    { url, shutdown: {} as never },
  ];
  const thrown = bad.map((extra) => {
    try {
      const pusher = new AmqpPusher({ ...base, ...extra } as AmqpPusherOptions);
      void pusher.close({ timeoutMs: 0 });
      return 'none';
    } catch (error) {
      return error instanceof InvalidOptionError ? 'InvalidOptionError' : (error as Error).constructor.name;
    }
  });
  expect(thrown).toEqual(['InvalidOptionError', 'InvalidOptionError', 'InvalidOptionError']);
});

// The pusher opens its own connection before the ChunkExecutor validates `shutdown`: a constructor
// that throws leaves a connection behind that nobody can close, reconnecting for good.
it('DEFECT ctor-leak: an AmqpPusher constructor that throws leaves no connection behind', async () => {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.destroy(); // not AMQP: every attempt fails at once and the loop retries
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    expect(
      () =>
        new AmqpPusher({
          url: `amqp://guest:guest@127.0.0.1:${port}`,
          exchange: '',
          routingKey: 'q',
          shutdown: {} as never,
          logger: silentLogger,
        }),
    ).toThrow();
    await delay(1500);
    expect(accepted).toBe(0);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
