import { addDeath, DEATH_HEADER, type DeathFact, EXPIRES_AT_HEADER, readDeaths, writeDeaths } from '@q/core';
import { unwrapEnvelope, wrapEnvelope } from './envelope.js';

/**
 * `body` with one more dead-letter record in its envelope ({@link DEATH_HEADER}, RabbitMQ's
 * `x-death` facts: the entry for the same queue and reason counts up and moves first), its other
 * headers kept. Its expiry is removed, as RabbitMQ removes a dead letter's `expiration`: a message
 * dead-lettered because it expired must not expire again in the dead-letter list. A body whose header
 * line is malformed is enveloped whole, so it comes out of the dead-letter list as it went in.
 */
export function withDeath(body: string | Buffer, fact: DeathFact): string | Buffer {
  const { body: inner, headers } = unwrapEnvelope(body);
  if (inner === body) return wrapEnvelope(body, { [DEATH_HEADER]: writeDeaths(addDeath([], fact)) });
  const { [EXPIRES_AT_HEADER]: _expiry, ...rest } = headers;
  return wrapEnvelope(inner, {
    ...rest,
    [DEATH_HEADER]: writeDeaths(addDeath(readDeaths(headers[DEATH_HEADER]), fact)),
  });
}
