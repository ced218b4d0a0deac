import type { Reporter } from './events.js';

/**
 * Codes of errors that say the sink refuses the message itself, so a retry cannot help: ours (`code`) and
 * Kafka's protocol errors as kafkajs names them (`type`).
 */
const REFUSALS = new Set([
  'Q_MESSAGE_TOO_LARGE',
  'Q_INVALID_MESSAGE',
  'Q_INVALID_OUTBOX_ID',
  'Q_UNROUTABLE',
  'INVALID_TOPIC_EXCEPTION',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
]);

/**
 * The default `isPermanent`: the error, or one of its `cause`s (kafkajs wraps protocol errors), has a
 * `code` or `type` in the list of refusals. Anything else (connection lost, timeout, broker restarting,
 * a Redis error reply) counts as the sink being down and is retried.
 */
export function isPermanentByDefault(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const { code, type } = e as { code?: unknown; type?: unknown };
    if ((typeof code === 'string' && REFUSALS.has(code)) || (typeof type === 'string' && REFUSALS.has(type)))
      return true;
    e = (e as { cause?: unknown; originalError?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return false;
}

/**
 * Calls the user's `isPermanent` so that it can never break the outbox: when it throws, the push error
 * counts as the sink being down (the batch is retried, never dead-lettered on a guess) and the throw is
 * reported on `error` (stage `'is-permanent'`).
 */
export function isPermanentGuarded(
  isPermanent: (error: unknown) => boolean,
  error: unknown,
  reporter: Reporter,
): boolean {
  try {
    return Boolean(isPermanent(error));
  } catch (err) {
    reporter.error(err, 'is-permanent', 'outbox: isPermanent threw; the push failure counts as the sink being down');
    return false;
  }
}
