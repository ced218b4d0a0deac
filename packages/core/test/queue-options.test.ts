import { InvalidOptionError, Queue, type QueueOptions } from '@q/core';
import { describe, expect, it } from 'vitest';

const pf = () => ({ produce: () => undefined });
const cf = () => ({ consume() {} });

function rejects(options: QueueOptions<unknown>, option: string, allowed: RegExp): void {
  let error: unknown;
  try {
    new Queue(pf, cf, options);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(InvalidOptionError);
  expect((error as InvalidOptionError).option).toBe(option);
  expect((error as InvalidOptionError).code).toBe('Q_INVALID_OPTION');
  expect((error as InvalidOptionError).allowed).toMatch(allowed);
  expect((error as Error).message).toContain(option);
}

describe('bad input gets a typed error naming the option, before anything runs', () => {
  it.each([
    [{ producers: 0 }, 'producers', /integer from 1 to 10000/],
    [{ producers: 1.5 }, 'producers', /integer/],
    [{ producers: Number.NaN }, 'producers', /integer/],
    [{ consumers: -1 }, 'consumers', /integer from 1/],
    [{ consumers: '4' as unknown as number }, 'consumers', /integer/],
    [{ capacity: -1 }, 'capacity', />= 0/],
    [{ capacity: 0.5 }, 'capacity', /integer/],
    [{ batchSize: 0 }, 'batchSize', /from 1 to 1000000/],
    [{ timeoutMs: -5 }, 'timeoutMs', />= 0/],
    [{ timeoutMs: Number.POSITIVE_INFINITY }, 'timeoutMs', /milliseconds/],
    [{ statsIntervalMs: -1 }, 'statsIntervalMs', />= 0/],
    [{ stopTimeoutMs: -1 }, 'stopTimeoutMs', /or Infinity/],
    [{ idleDelayMs: 0 }, 'idleDelayMs', />= 1/],
    [{ retry: { attempts: 0 } }, 'retry.attempts', /integer >= 1/],
    [{ retry: { minDelayMs: -1 } }, 'retry.minDelayMs', />= 0/],
    [{ retry: { minDelayMs: 100, maxDelayMs: 10 } }, 'retry.maxDelayMs', />= 100/],
    [{ retry: { factor: 0.5 } }, 'retry.factor', />= 1/],
    [{ retry: { jitter: 'yes' as unknown as boolean } }, 'retry.jitter', /boolean/],
    [{ deadLetter: {} as never }, 'deadLetter', /Pusher/],
    [{ keyOf: 'id' as never }, 'keyOf', /function/],
    [{ logger: 42 as never }, 'logger', /Logger/],
    [{ name: '' }, 'name', /non-empty string/],
    [{ signal: {} as AbortSignal }, 'signal', /AbortSignal/],
    [{ factoryBackoff: { minDelayMs: -1 } }, 'factoryBackoff.minDelayMs', />= 0/],
    [{ deadLetterBackoff: { minDelayMs: 50, maxDelayMs: 5 } }, 'deadLetterBackoff.maxDelayMs', />= 50/],
  ] as [QueueOptions<unknown>, string, RegExp][])('%o -> %s', (options, option, allowed) => {
    rejects(options, option, allowed);
  });

  it('non-function factories', () => {
    expect(() => new Queue(undefined as never, cf)).toThrow(InvalidOptionError);
    expect(() => new Queue(pf, 'consumer' as never)).toThrow(/consumerFactory/);
  });

  it('setters validate too', () => {
    const q = new Queue(pf, cf);
    expect(() => q.setNumProducer(0)).toThrow(/producers/);
    expect(() => q.setNumConsumer(2.5)).toThrow(/consumers/);
    expect(() => q.setName('')).toThrow(/name/);
    expect(() => q.addListener({ onPause() {} } as never)).toThrow(/listener/);
  });

  it('stop() validates its timeout', async () => {
    const q = new Queue(pf, cf, { producers: 1, consumers: 1 });
    const done = q.start();
    expect(() => q.stop({ timeoutMs: -1 })).toThrow(InvalidOptionError);
    await q.stop();
    await done;
  });

  it('a factory that returns something that is not a producer is reported, not a crash', async () => {
    const stages: string[] = [];
    const q = new Queue(
      () => ({}) as never,
      () => 5 as never,
      { producers: 1, consumers: 1, factoryBackoff: { minDelayMs: 1, maxDelayMs: 2 } },
    );
    q.on('error', (e, info) => {
      expect(e).toBeInstanceOf(InvalidOptionError);
      stages.push(info.stage);
    });
    const done = q.start();
    await new Promise((r) => setTimeout(r, 20));
    await q.stop({ timeoutMs: 50 });
    await done;
    expect(stages).toContain('producer-factory');
    expect(stages).toContain('consumer-factory');
  });
});
