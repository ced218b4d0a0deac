import { InvalidOptionError, type RetryPolicy, retryPolicy } from '@q/core';
import { duration, integerAtLeast, nonEmptyString } from '@q/core/internal';
import type { AmqpConnectionOptions } from './connection.js';

/** The broker-facing part of {@link AmqpConnectionOptions}, checked, with defaults applied. */
export interface ConnectionSettings {
  readonly url: string;
  readonly heartbeatSeconds: number;
  readonly connectTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly name: string | undefined;
  readonly reconnect: RetryPolicy;
}

/**
 * Checks `options` as {@link AmqpConnection} does (the one place these rules live, so that a factory
 * or a pusher that opens its connection later can refuse bad options at once).
 * @throws {InvalidOptionError} naming the first bad option.
 */
export function connectionSettings(options: AmqpConnectionOptions): ConnectionSettings {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', options, 'an object');
  return {
    url: amqpUrl(options.url),
    heartbeatSeconds: integerAtLeast('heartbeatSeconds', options.heartbeatSeconds ?? 10, 1, 3600),
    connectTimeoutMs: duration('connectTimeoutMs', options.connectTimeoutMs ?? 10_000, 1),
    closeTimeoutMs: duration('closeTimeoutMs', options.closeTimeoutMs ?? 5_000, 0),
    name: options.name === undefined ? undefined : nonEmptyString('name', options.name),
    reconnect: retryPolicy(options.reconnect, 'reconnect', { minDelayMs: 100, maxDelayMs: 10_000 }),
  };
}

/**
 * `url` when it is an `amqp://` or `amqps://` URL.
 * @throws {InvalidOptionError} otherwise.
 */
export function amqpUrl(url: unknown): string {
  const allowed = 'an amqp:// or amqps:// URL';
  if (typeof url !== 'string') throw new InvalidOptionError('url', url, allowed);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidOptionError('url', url, allowed);
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
    throw new InvalidOptionError('url', redacted(url), allowed);
  }
  return url;
}

/** `url` without its password, for logs. */
export function redacted(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}
