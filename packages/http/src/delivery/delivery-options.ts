import { InvalidOptionError, type Logger, type RetryPolicy } from '@q/core';
import { duration, integerAtLeast, settledWithin } from '@q/core/internal';
import { Agent, type Dispatcher } from 'undici';
import type { DeadLetters } from './dead-letters.js';
import { secretKey } from './signing.js';

/** How failed attempts are retried: exponential back-off with full jitter, bounded by attempts and age. */
export interface DeliveryRetryOptions {
  /** Attempts in all, the first included (1: no retry). @default 10 */
  maxAttempts?: number;
  /**
   * Age limit (>= 1, or Infinity), counted from the item's `acceptedAt` (or its first attempt): an item whose next attempt would
   * start later than this is dead-lettered with reason `max-age`.
   * @default 259200000 (3 days)
   */
  maxAgeMs?: number;
  /** Back-off before the first retry (its upper bound: full jitter draws from [0, delay]). @default 5000 */
  minDelayMs?: number;
  /** Largest back-off, `Retry-After` included. @default 86400000 (1 day) */
  maxDelayMs?: number;
  /** Growth of the back-off per retry: retry n waits up to `minDelayMs * factor^(n-1)`. @default 6 */
  factor?: number;
}

/** Options of {@link DeliveryEngine}. */
export interface DeliveryEngineOptions {
  /** Attempts in flight per endpoint (URL), 1 to 10000. @default 16 */
  concurrency?: number;
  /** Whole-request deadline of one attempt (connect, headers and body), in milliseconds. @default 15000 */
  timeoutMs?: number;
  /** Deadline of opening a connection, in milliseconds. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * Retry schedule. The delay before retry n is full jitter, `random() * min(maxDelayMs, minDelayMs *
   * factor^(n-1))`; a longer `Retry-After` (seconds or an HTTP-date) replaces it, capped at `maxDelayMs`.
   * @default { maxAttempts: 10, maxAgeMs: 259200000, minDelayMs: 5000, maxDelayMs: 86400000, factor: 6 }
   */
  retry?: DeliveryRetryOptions;
  /**
   * Per-endpoint circuit breaker.
   * @default { failureThreshold: 5, openMs: 30000 }
   */
  circuit?: {
    /** Consecutive failed attempts that open the circuit. @default 5 */
    failureThreshold?: number;
    /** How long an open circuit waits before one probe (half-open), in milliseconds. @default 30000 */
    openMs?: number;
  };
  /**
   * Standard Webhooks secrets (`whsec_<base64>` or bare base64). Each signs every attempt: the
   * `webhook-signature` header holds one `v1,<sig>` per secret, space-separated (rotation).
   * @default [] (no `webhook-signature` header)
   */
  secrets?: readonly string[];
  /** Where dead letters are stored durably before `deliver()` resolves. Required; not closed by the engine. */
  deadLetters: DeadLetters;
  /**
   * The undici dispatcher requests go through (the caller's to close).
   * @default an own `Agent` with headers/body/connect timeouts from `timeoutMs`/`connectTimeoutMs` and no
   * cap on connections per origin (`concurrency` per URL bounds the requests in flight; a cap per origin
   * would let one hanging URL of a host hold the connections of its other URLs), closed by `close()`.
   */
  dispatcher?: Dispatcher;
  /** Bytes of a failed response's body kept in its dead letter (0 to 16384). @default 1024 */
  excerptBytes?: number;
  /** Where endpoint state changes and failures are logged. @default consoleLogger */
  logger?: Logger;
  /** Source of randomness for the jitter, in [0, 1) (tests make it fixed). @default Math.random */
  random?: () => number;
}

/** {@link DeliveryEngineOptions} validated, defaults filled in. */
export interface ResolvedDeliveryOptions {
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxAttempts: number;
  readonly maxAgeMs: number;
  /** For core's `backoffDelay` (jitter on). */
  readonly backoff: RetryPolicy;
  readonly failureThreshold: number;
  readonly openMs: number;
  readonly secrets: readonly string[];
  readonly deadLetters: DeadLetters;
  readonly dispatcher: Dispatcher | undefined;
  readonly excerptBytes: number;
  readonly logger: Logger | undefined;
  readonly random: () => number;
}

/** Largest `excerptBytes`: excerpts travel in a dead letter's headers, which the log bounds to 64 KiB. */
export const MAX_EXCERPT_BYTES = 16 * 1024;

/** Validates {@link DeliveryEngineOptions}; throws `InvalidOptionError` naming the option and its range. */
export function resolveDeliveryOptions(options: DeliveryEngineOptions): ResolvedDeliveryOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  const retry = section('retry', options.retry);
  const circuit = section('circuit', options.circuit);
  const minDelayMs = duration('retry.minDelayMs', retry.minDelayMs ?? 5_000);
  const maxDelayMs = duration('retry.maxDelayMs', retry.maxDelayMs ?? Math.max(86_400_000, minDelayMs), minDelayMs);
  const factor = retry.factor ?? 6;
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1)
    throw new InvalidOptionError('retry.factor', factor, 'a finite number >= 1');
  const secrets = options.secrets ?? [];
  if (!Array.isArray(secrets)) throw new InvalidOptionError('secrets', secrets, 'an array of strings');
  for (let i = 0; i < secrets.length; i++) secretKey(secrets[i] as string, `secrets[${i}]`);
  const deadLetters = options.deadLetters;
  if (typeof deadLetters !== 'object' || deadLetters === null || typeof deadLetters.add !== 'function')
    throw new InvalidOptionError('deadLetters', deadLetters, 'a DeadLetters (DeadLetters.open)');
  const dispatcher = options.dispatcher;
  if (dispatcher !== undefined && (typeof dispatcher !== 'object' || typeof dispatcher?.request !== 'function'))
    throw new InvalidOptionError('dispatcher', dispatcher, 'an undici Dispatcher');
  const logger = options.logger;
  if (logger !== undefined && (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function'))
    throw new InvalidOptionError('logger', logger, 'a Logger (error, warn, info, debug)');
  const random = options.random ?? Math.random;
  if (typeof random !== 'function') throw new InvalidOptionError('random', random, 'a function returning [0, 1)');
  return {
    concurrency: integerAtLeast('concurrency', options.concurrency ?? 16, 1, 10_000),
    timeoutMs: duration('timeoutMs', options.timeoutMs ?? 15_000, 1),
    connectTimeoutMs: duration('connectTimeoutMs', options.connectTimeoutMs ?? 5_000, 1),
    maxAttempts: integerAtLeast('retry.maxAttempts', retry.maxAttempts ?? 10, 1, 1_000_000),
    maxAgeMs: ageLimit(retry.maxAgeMs ?? 259_200_000),
    backoff: { attempts: Number.POSITIVE_INFINITY, minDelayMs, maxDelayMs, factor, jitter: true },
    failureThreshold: integerAtLeast('circuit.failureThreshold', circuit.failureThreshold ?? 5, 1, 1_000_000),
    openMs: duration('circuit.openMs', circuit.openMs ?? 30_000, 1),
    secrets: [...secrets],
    deadLetters,
    dispatcher,
    excerptBytes: integerAtLeast('excerptBytes', options.excerptBytes ?? 1024, 0, MAX_EXCERPT_BYTES),
    logger,
    random,
  };
}

/** An optional nested options object, `{}` when absent. */
function section(name: string, value: unknown): Record<string, unknown> & Record<string, number | undefined> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidOptionError(name, value, 'an object');
  return value as Record<string, number | undefined>;
}

/** `retry.maxAgeMs`: compared with clocks, never a timer, so it may exceed a timer's range. */
function ageLimit(value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 1)
    throw new InvalidOptionError('retry.maxAgeMs', value, 'a number of milliseconds >= 1, or Infinity');
  return value;
}

/**
 * The engine's own dispatcher: undici's headers and body timeouts set to `timeoutMs` (their default is
 * 300 s), the connect timeout to `connectTimeoutMs`. No `connections` cap: the engine bounds requests in
 * flight per URL (`concurrency`), and a cap per origin, shared by every URL of a host, would queue the
 * requests of a healthy URL behind those of a hanging one until their attempt deadline.
 */
export function defaultAgent(o: ResolvedDeliveryOptions): Agent {
  return new Agent({
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
    connectTimeout: o.connectTimeoutMs,
    keepAliveTimeout: 4_000,
  });
}

/** Closes the engine's own Agent within `timeoutMs`, then destroys what is left (sockets of stuck requests). */
export async function closeAgent(agent: Agent, timeoutMs: number): Promise<void> {
  if (!(await settledWithin(agent.close(), timeoutMs))) await settledWithin(agent.destroy(), 1_000);
}
