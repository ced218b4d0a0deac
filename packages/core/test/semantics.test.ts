import {
  addDeath,
  DEATH_REASONS,
  type DeathRecord,
  EXPIRES_AT_HEADER,
  expiresAt,
  InvalidOptionError,
  isExpired,
  readDeaths,
  ttlOption,
  UnroutableError,
  writeDeaths,
} from '@q/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('death records (x-death facts in q-death)', () => {
  it('counts per queue and reason, newest first, as RabbitMQ does', () => {
    let deaths = addDeath([], { reason: 'rejected', queue: 'orders', time: 1 });
    deaths = addDeath(deaths, { reason: 'expired', queue: 'orders', time: 2 });
    deaths = addDeath(deaths, { reason: 'rejected', queue: 'orders', time: 3, cause: 'boom' });
    expect(deaths).toEqual([
      { reason: 'rejected', queue: 'orders', count: 2, time: 3, cause: 'boom' },
      { reason: 'expired', queue: 'orders', count: 1, time: 2 },
    ]);
    expect(readDeaths(writeDeaths(deaths))).toEqual(deaths);
    expect(readDeaths(Buffer.from(writeDeaths(deaths)))).toEqual(deaths);
  });

  it('reads a missing or malformed header as no history, and drops entries that are not records', () => {
    expect(readDeaths(undefined)).toEqual([]);
    expect(readDeaths('not json')).toEqual([]);
    expect(readDeaths('{"reason":"rejected"}')).toEqual([]);
    expect(
      readDeaths(
        '[{"reason":"bored","queue":"q","count":1,"time":1},{"reason":"maxlen","queue":"q","count":1,"time":1}]',
      ),
    ).toEqual([{ reason: 'maxlen', queue: 'q', count: 1, time: 1 }]);
  });

  it('keeps, for any sequence of deaths, one entry per (queue, reason) whose count is how often it happened (model)', () => {
    const fact = fc.record({ reason: fc.constantFrom(...DEATH_REASONS), queue: fc.constantFrom('a', 'b', 'c') });
    fc.assert(
      fc.property(fc.array(fact, { maxLength: 40 }), (facts) => {
        let deaths: DeathRecord[] = [];
        const model = new Map<string, number>();
        facts.forEach((f, time) => {
          deaths = readDeaths(writeDeaths(addDeath(deaths, { ...f, time })));
          model.set(`${f.queue}/${f.reason}`, (model.get(`${f.queue}/${f.reason}`) ?? 0) + 1);
          expect(deaths[0]).toMatchObject({ ...f, time });
        });
        expect(new Map(deaths.map((d) => [`${d.queue}/${d.reason}`, d.count]))).toEqual(model);
        expect(deaths.map((d) => d.time)).toEqual([...deaths.map((d) => d.time)].sort((x, y) => y - x));
      }),
      { verbose: 1 },
    );
  });

  it('bounds the cause it keeps', () => {
    const [death] = addDeath([], { reason: 'rejected', queue: 'q', cause: 'x'.repeat(10_000) });
    expect(death?.cause?.length).toBe(512);
  });
});

describe('lazy expiry (q-expires-at)', () => {
  it('expires at the stamped time, never a message without or with an unreadable stamp', () => {
    expect(EXPIRES_AT_HEADER).toBe('q-expires-at');
    const at = expiresAt(100, 1_000);
    expect(at).toBe('1100');
    expect(isExpired(at, 1_099)).toBe(false);
    expect(isExpired(at, 1_100)).toBe(true);
    expect(isExpired(Buffer.from(at), 2_000)).toBe(true);
    expect(isExpired(undefined, 2_000)).toBe(false);
    expect(isExpired('soon', 2_000)).toBe(false);
    expect(isExpired('', 2_000)).toBe(false);
    expect(isExpired(1_100, 2_000)).toBe(true);
    expect(isExpired({ at: 1 }, 2_000)).toBe(false);
  });

  it('validates ttlMs naming the option', () => {
    expect(ttlOption('ttlMs', undefined)).toBeUndefined();
    expect(ttlOption('ttlMs', 0)).toBe(0);
    expect(() => ttlOption('ttlMs', -1)).toThrow(InvalidOptionError);
    expect(() => ttlOption('ttlMs', 1.5)).toThrow(/ttlMs/);
  });
});

describe('semantic errors', () => {
  it('carry a code and the destination', () => {
    const error = new UnroutableError('orders/eu', '312 NO_ROUTE');
    expect(error.code).toBe('Q_UNROUTABLE');
    expect(error.destination).toBe('orders/eu');
    expect(error.message).toContain('312 NO_ROUTE');
  });
});
