import { InvalidOptionError } from '@q/core';
import { KafkaPusher, KafkaQueue, MessageTooLargeError } from '@q/kafka';
import { describe, expect, it } from 'vitest';

const handler = () => {};
const base = { brokers: ['127.0.0.1:1'], group: 'g', topic: 't' };

/** The InvalidOptionError that `make` throws (fails the test when it throws nothing or something else). */
function rejected(make: () => unknown): InvalidOptionError {
  let error: unknown;
  try {
    make();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(InvalidOptionError);
  return error as InvalidOptionError;
}

describe('KafkaQueue and KafkaPusher configuration', () => {
  it('bad input gets typed errors', async () => {
    const bad = (config: object, option: string) =>
      expect(rejected(() => new KafkaQueue(config as never, handler)).option).toBe(option);
    bad({ brokers: [], group: 'g', topic: 't' }, 'brokers');
    bad({ ...base, group: '' }, 'group');
    bad({ brokers: ['b:1'], group: 'g' }, 'topic');
    bad({ ...base, processors: 0 }, 'processors');
    bad({ ...base, ordering: 'random' }, 'ordering');
    bad({ ...base, offset: 'middle' }, 'offset');
    bad({ ...base, deadLetterBackoff: { minDelayMs: 10, maxDelayMs: 1 } }, 'deadLetterBackoff.maxDelayMs');
    expect(() => new KafkaQueue(base, {} as never)).toThrow(/handler/);
    expect(() => new KafkaPusher({ brokers: [], topic: 't' })).toThrow(/brokers/);
    expect(() => new KafkaPusher({ brokers: ['b:1'], topic: '' })).toThrow(/topic/);
    const pusher = new KafkaPusher({ brokers: ['127.0.0.1:1'], topic: 't', maxMessageBytes: 10 });
    await expect(pusher.push('x'.repeat(11))).rejects.toBeInstanceOf(MessageTooLargeError);
    await pusher.close();
  });

  it('conns below 1 is refused, not turned into 1', () => {
    for (const conns of [0, -1, 1.5]) {
      const error = rejected(() => new KafkaQueue({ ...base, conns }, handler));
      expect(error.option).toBe('conns');
      expect(error.value).toBe(conns);
      expect(error.allowed).toBe('an integer >= 1');
    }
  });

  it('lowWaterMark above highWaterMark is refused, naming the allowed range', () => {
    const error = rejected(() => new KafkaQueue({ ...base, highWaterMark: 200, lowWaterMark: 201 }, handler));
    expect(error.option).toBe('lowWaterMark');
    expect(error.value).toBe(201);
    expect(error.allowed).toBe('an integer from 0 to 200');
    expect(rejected(() => new KafkaQueue({ ...base, lowWaterMark: -1 }, handler)).option).toBe('lowWaterMark');
    // The edges are accepted: resume only once empty, or as soon as below the high mark.
    expect(() => new KafkaQueue({ ...base, highWaterMark: 200, lowWaterMark: 200 }, handler)).not.toThrow();
    expect(() => new KafkaQueue({ ...base, highWaterMark: 200, lowWaterMark: 0 }, handler)).not.toThrow();
  });

  it('KafkaPusher: bad reconnect and maxMessageBytes are refused, naming the option', () => {
    const pusher = (extra: object) => () => new KafkaPusher({ brokers: ['127.0.0.1:1'], topic: 't', ...extra });
    expect(rejected(pusher({ reconnect: 3 })).option).toBe('reconnect');
    expect(rejected(pusher({ reconnect: { attempts: 0 } })).option).toBe('reconnect.attempts');
    expect(rejected(pusher({ reconnect: { minDelayMs: -1 } })).option).toBe('reconnect.minDelayMs');
    for (const maxMessageBytes of [0, -1, 1.5, '1mb']) {
      const error = rejected(pusher({ maxMessageBytes }));
      expect(error.option).toBe('maxMessageBytes');
      expect(error.allowed).toBe('an integer >= 1');
    }
  });

  it('KafkaQueue: forceCommit must be a boolean', () => {
    const error = rejected(() => new KafkaQueue({ ...base, forceCommit: 'false' as never }, handler));
    expect(error.option).toBe('forceCommit');
    expect(error.allowed).toBe('a boolean');
  });
});
