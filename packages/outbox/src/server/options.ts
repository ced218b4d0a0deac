import { InvalidOptionError, type Logger } from '@q/core';
import { integerAtLeast, nonEmptyString } from '@q/core/internal';
import type { Outbox } from '../index.js';

/** Options of {@link OutboxProxy}. */
export interface OutboxProxyOptions {
  /**
   * The outbox that stores what the proxy accepts. The proxy owns it from here on: its `close()`
   * closes the outbox (not the outbox's sink).
   */
  outbox: Outbox;
  /**
   * Largest body of `POST /v1/messages`, and of one message of a batch, in bytes: larger ones get
   * 413. Keep it within the outbox's `maxRecordBytes` and what the sink takes (Kafka's
   * `message.max.bytes`, 1 MiB by default).
   * @default 1048576 (1 MiB)
   */
  maxBodyBytes?: number;
  /**
   * Largest body of `POST /v1/messages/batch`, in bytes: larger ones get 413.
   * @default 16777216 (16 MiB)
   */
  maxBatchBytes?: number;
  /**
   * Most messages in one `POST /v1/messages/batch`: more get 413 `too_many_messages` (nothing
   * stored). A batch is parsed, stored and answered in one go on the event loop, so this bounds how
   * long one request holds every other (16 MiB of one-byte messages is 1.3 million of them: seconds).
   * @default 10000
   */
  maxBatchMessages?: number;
  /**
   * `GET /v1/health` answers 503 once the sink has been down this long, for load balancers that
   * should move clients elsewhere. By default a down sink never makes the proxy unhealthy: it takes
   * messages safely into its log all the same, which is what it is for.
   * @default Infinity
   */
  unhealthyAfterSinkDownMs?: number;
  /**
   * TCP port; 0 picks a free one (read {@link OutboxProxy.listen}'s result).
   * @default 7390
   */
  port?: number;
  /**
   * TCP address to listen on.
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * Also listen on this unix socket path. A socket file left by a process that died is replaced; one
   * a live process listens on is not (listen rejects).
   * @default none
   */
  socket?: string;
  /**
   * `close()`'s deadline when it is given none, in milliseconds: the outbox forwards what it can
   * until then and keeps the rest in its log.
   * @default 10000
   */
  closeTimeoutMs?: number;
  /** Where request failures (500s) and close problems are logged. @default silentLogger */
  logger?: Logger;
}

/** {@link OutboxProxyOptions} with every default applied. */
export type ResolvedProxyOptions = Required<Omit<OutboxProxyOptions, 'socket' | 'logger'>> &
  Pick<OutboxProxyOptions, 'socket' | 'logger'>;

/** Default of {@link OutboxProxyOptions.maxBatchMessages}. */
export const DEFAULT_MAX_BATCH_MESSAGES = 10_000;

/** Default TCP port of the proxy. */
export const DEFAULT_PORT = 7390;

/**
 * `options` with defaults applied.
 * @throws {InvalidOptionError} naming the option and its allowed values.
 */
export function resolveProxyOptions(options: OutboxProxyOptions): ResolvedProxyOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', options, 'an object');
  const { outbox } = options;
  if (outbox === null || typeof outbox !== 'object' || typeof outbox.send !== 'function')
    throw new InvalidOptionError('outbox', outbox, 'an Outbox');
  const unhealthy = options.unhealthyAfterSinkDownMs ?? Number.POSITIVE_INFINITY;
  if (typeof unhealthy !== 'number' || Number.isNaN(unhealthy) || unhealthy < 0)
    throw new InvalidOptionError('unhealthyAfterSinkDownMs', unhealthy, 'a number of milliseconds >= 0, or Infinity');
  if (options.socket !== undefined) nonEmptyString('socket', options.socket);
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  if (typeof closeTimeoutMs !== 'number' || Number.isNaN(closeTimeoutMs) || closeTimeoutMs < 0)
    throw new InvalidOptionError('closeTimeoutMs', closeTimeoutMs, 'a number of milliseconds >= 0, or Infinity');
  return {
    outbox,
    maxBodyBytes: integerAtLeast('maxBodyBytes', options.maxBodyBytes ?? 1024 * 1024, 1),
    maxBatchBytes: integerAtLeast('maxBatchBytes', options.maxBatchBytes ?? 16 * 1024 * 1024, 1),
    maxBatchMessages: integerAtLeast('maxBatchMessages', options.maxBatchMessages ?? DEFAULT_MAX_BATCH_MESSAGES, 1),
    unhealthyAfterSinkDownMs: unhealthy,
    port: integerAtLeast('port', options.port ?? DEFAULT_PORT, 0, 65535),
    host: nonEmptyString('host', options.host ?? '127.0.0.1'),
    socket: options.socket,
    closeTimeoutMs,
    logger: options.logger,
  };
}
