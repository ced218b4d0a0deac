import { BalancedPusher, consoleLogger, DelayExecutor, type Logger, type Pusher, Queue } from '@q/core';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { until } from './helpers.js';

/** A real pino logger writing JSON lines into an array (pino takes any object with `write`). */
function capturedPino(bindings?: Record<string, unknown>): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const root = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger: bindings === undefined ? root : root.child(bindings), lines };
}

interface SerializedError {
  readonly type: string;
  readonly message: string;
  readonly stack: string;
}

describe('Logger: a real pino instance passed as `logger` as it is', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('a producer that throws: the line carries the message, the error with its stack, and the context', async () => {
    const { logger, lines } = capturedPino();
    let calls = 0;
    const q = new Queue<string>(
      () => ({
        produce() {
          calls++;
          if (calls === 1) throw new Error('broker unreachable');
          return undefined;
        },
      }),
      () => ({ consume() {} }),
      { name: 'orders', producers: 1, consumers: 1, logger, statsIntervalMs: 0 },
    );
    const done = q.start();
    await until(() => lines.length >= 1);
    await q.stop();
    await done;
    const line = lines[0] as Record<string, unknown> & { err: SerializedError };
    expect(line).toMatchObject({ level: 50, msg: 'produce failed', queue: 'orders', stage: 'produce' });
    expect(line.err.type).toBe('Error');
    expect(line.err.message).toBe('broker unreachable');
    expect(line.err.stack).toContain('broker unreachable');
    expect(line.err.stack).toContain('logger-pino.test.ts');
  });

  it('a consumer that fails: message, error, stage and attempt, never the body; child bindings kept', async () => {
    const { logger, lines } = capturedPino({ component: 'billing' });
    let sent = false;
    const q = new Queue<string>(
      () => ({
        produce() {
          if (sent) return undefined;
          sent = true;
          return 'secret-body';
        },
      }),
      () => ({
        consume() {
          throw new TypeError('card declined');
        },
      }),
      { name: 'payments', producers: 1, consumers: 1, logger, statsIntervalMs: 0 },
    );
    const done = q.start();
    await until(() => lines.length >= 1);
    await q.stop();
    await done;
    const line = lines[0] as Record<string, unknown> & { err: SerializedError };
    expect(line).toMatchObject({
      level: 50,
      msg: 'consume failed',
      component: 'billing',
      queue: 'payments',
      stage: 'consume',
      attempt: 1,
    });
    expect(line.err).toMatchObject({ type: 'TypeError', message: 'card declined' });
    expect(line.err.stack).toContain('card declined');
    expect(JSON.stringify(lines)).not.toContain('secret-body');
  });

  it('a pusher that fails: BalancedPusher logs the error and which pusher through pino', async () => {
    const { logger, lines } = capturedPino();
    const pushed: string[] = [];
    const failing: Pusher<string> = {
      name: () => 'primary',
      push: () => Promise.reject(new Error('primary down')),
    };
    const working: Pusher<string> = {
      name: () => 'fallback',
      push: async (m) => void pushed.push(m),
    };
    const pusher = new BalancedPusher([failing, working], { logger });
    // The pick is random: push until the failing one has been tried once.
    for (let i = 0; i < 200 && lines.length === 0; i++) await pusher.push(`m${i}`);
    expect(lines.length).toBe(1);
    const line = lines[0] as Record<string, unknown> & { err: SerializedError };
    expect(line).toMatchObject({ level: 50, msg: 'push failed, trying the next pusher', pusher: 'primary' });
    expect(line.err).toMatchObject({ type: 'Error', message: 'primary down' });
    expect(pushed.length).toBeGreaterThan(0);
  });

  it("an executor's default onError logs through pino with the error under err", async () => {
    const { logger, lines } = capturedPino();
    const executor = new DelayExecutor(
      () => {
        throw new RangeError('tick failed');
      },
      1,
      { logger },
    );
    executor.trigger();
    await until(() => lines.length >= 1);
    expect(lines[0]).toMatchObject({ level: 50, msg: 'DelayExecutor fn failed', err: { type: 'RangeError' } });
  });

  it('consoleLogger adapts the convention for the console: message first, then the fields', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const err = new Error('boom');
    consoleLogger.error({ queue: 'q1', err }, 'produce failed');
    consoleLogger.warn({}, 'slow');
    expect(error).toHaveBeenCalledWith('[q] produce failed', { queue: 'q1', err });
    expect(warn).toHaveBeenCalledWith('[q] slow');
  });
});
