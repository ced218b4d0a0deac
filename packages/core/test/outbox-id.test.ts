import { formatOutboxId, parseOutboxId } from '@q/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** The rule as the regular expressions stated it before the parse remembered its last outbox. */
function model(id: unknown): { outbox: string; seq: number } | undefined {
  if (typeof id !== 'string') return undefined;
  const colon = id.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const outbox = id.slice(0, colon);
  const digits = id.slice(colon + 1);
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(outbox) || !/^(0|[1-9][0-9]{0,15})$/.test(digits)) return undefined;
  const seq = Number(digits);
  return Number.isSafeInteger(seq) ? { outbox, seq } : undefined;
}

const nameChar = fc.constantFrom(...'abcXYZ019._-:/ é'.split(''));
const name = fc.oneof(
  fc.string({ unit: nameChar, minLength: 0, maxLength: 6 }),
  fc.constantFrom('ob', 'ob2', 'o', 'a'.repeat(128), 'a'.repeat(129)),
);
const digits = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: 0, maxLength: 18 }),
  fc.constantFrom('9007199254740991', '9007199254740992', '0', '00', '01', '-1', '1e3', ' 1'),
);

describe('parseOutboxId', () => {
  it('agrees with the rule for every id, in any order of outboxes (the last valid name is remembered)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(name, digits), { minLength: 1, maxLength: 30 }), (ids) => {
        for (const [n, d] of ids) {
          const id = `${n}:${d}`;
          expect(parseOutboxId(id)).toEqual(model(id));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses what is not a string or has no outbox; takes back what formatOutboxId wrote', () => {
    for (const bad of [undefined, null, 5, ':1', 'ob', 'ob:', 'ob:1:x']) expect(parseOutboxId(bad)).toBeUndefined();
    parseOutboxId('ob:1');
    // The remembered name must match whole: a longer or shorter one is checked afresh.
    expect(parseOutboxId('ob2:7')).toEqual({ outbox: 'ob2', seq: 7 });
    expect(parseOutboxId('o b:7')).toBeUndefined();
    expect(parseOutboxId(formatOutboxId('ob', Number.MAX_SAFE_INTEGER))).toEqual({
      outbox: 'ob',
      seq: Number.MAX_SAFE_INTEGER,
    });
  });
});
