/**
 * Dead-letter facts in one shape on every adapter: RabbitMQ's `x-death` header, carried in our own
 * header so Redis, Kafka, the log and AMQP dead letters read alike.
 */

/** The header that carries a message's {@link DeathRecord}s, as JSON, newest first. */
export const DEATH_HEADER = 'q-death';

/**
 * Why a message was dead-lettered (RabbitMQ's reasons; `delivery-limit` is its `delivery_limit`).
 * - `rejected`: a handler failed it for good (nack without requeue, or every retry failed);
 * - `expired`: its time to live passed before a handler got it;
 * - `maxlen`: the queue was at its maximum length and dropped it (overflow `drop-head`);
 * - `delivery-limit`: it was delivered more times than the queue's delivery limit.
 */
export type DeathReason = 'rejected' | 'expired' | 'maxlen' | 'delivery-limit';

/** Every {@link DeathReason}, for validation. */
export const DEATH_REASONS: readonly DeathReason[] = ['rejected', 'expired', 'maxlen', 'delivery-limit'];

/** One `x-death` entry: how many times a message died in one queue for one reason, and when last. */
export interface DeathRecord {
  /** Why it died. */
  readonly reason: DeathReason;
  /** The queue (list, topic, log) it died in. */
  readonly queue: string;
  /** How many times it died there for this reason (RabbitMQ's `count`). */
  readonly count: number;
  /** When it last died there, in milliseconds since the epoch. */
  readonly time: number;
  /** The exchange it had been published to, when the adapter has exchanges (AMQP). */
  readonly exchange?: string;
  /** The routing keys it had been published with (AMQP), or its key. */
  readonly routingKeys?: readonly string[];
  /** What the last failure said (a handler's error message), when there was one. */
  readonly cause?: string;
}

/** A fact to add with {@link addDeath}. */
export interface DeathFact {
  /** Why it died. */
  readonly reason: DeathReason;
  /** The queue (list, topic, log) it died in. */
  readonly queue: string;
  /** When, in milliseconds since the epoch. @default Date.now() */
  readonly time?: number;
  /** The exchange it had been published to (AMQP). @default none */
  readonly exchange?: string;
  /** The routing keys it had been published with (AMQP), or its key. @default none */
  readonly routingKeys?: readonly string[];
  /** What the last failure said; kept to 512 characters. @default none */
  readonly cause?: string;
}

const MAX_CAUSE = 512;

/**
 * Reads the records of a {@link DEATH_HEADER} value, as any client hands a header over (a string or
 * bytes). A missing, malformed or otherwise typed value reads as none: a message's history never
 * stops it from being handled or dead-lettered again.
 */
export function readDeaths(header: unknown): DeathRecord[] {
  if (typeof header !== 'string' && !Buffer.isBuffer(header)) return [];
  try {
    const parsed: unknown = JSON.parse(typeof header === 'string' ? header : header.toString('utf8'));
    return Array.isArray(parsed) ? parsed.filter(isDeathRecord) : [];
  } catch {
    return [];
  }
}

/**
 * Adds one death to `previous` as RabbitMQ does: the entry for the same queue and reason has its
 * count raised and moves to the front; otherwise a new entry with count 1 goes first.
 */
export function addDeath(previous: readonly DeathRecord[], fact: DeathFact): DeathRecord[] {
  const same = previous.find((d) => d.queue === fact.queue && d.reason === fact.reason);
  const rest = previous.filter((d) => d !== same);
  const record: DeathRecord = {
    reason: fact.reason,
    queue: fact.queue,
    count: (same?.count ?? 0) + 1,
    time: fact.time ?? Date.now(),
    ...(fact.exchange !== undefined ? { exchange: fact.exchange } : {}),
    ...(fact.routingKeys !== undefined ? { routingKeys: [...fact.routingKeys] } : {}),
    ...(fact.cause !== undefined ? { cause: fact.cause.slice(0, MAX_CAUSE) } : {}),
  };
  return [record, ...rest];
}

/** The {@link DEATH_HEADER} value for `records`. */
export function writeDeaths(records: readonly DeathRecord[]): string {
  return JSON.stringify(records);
}

/** The message of an error, for {@link DeathFact.cause}. */
export function causeText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isDeathRecord(value: unknown): value is DeathRecord {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    DEATH_REASONS.includes(v.reason as DeathReason) &&
    typeof v.queue === 'string' &&
    typeof v.count === 'number' &&
    Number.isInteger(v.count) &&
    v.count >= 1 &&
    typeof v.time === 'number'
  );
}
