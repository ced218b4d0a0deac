import {
  addDeath,
  ConfirmAbortedError,
  type ConfirmingPusher,
  causeText,
  DEATH_HEADER,
  InvalidOptionError,
  type PushInfo,
  readDeaths,
  writeDeaths,
} from '@q/core';
import { abortable, nonEmptyString } from '@q/core/internal';
import { LogClosedError } from '../errors.js';
import type { AppendInput } from '../record.js';
import type { SegmentLog } from '../segment-log.js';

/** Options of {@link LogPusher}. */
export interface LogPusherOptions {
  /** The log to append to; the pusher never closes it. */
  log: SegmentLog;
  /**
   * The pusher's name in logs and metrics.
   * @default `log:<the log's dir>`
   */
  name?: string;
  /**
   * The queue this pusher dead-letters for (e.g. the source log's cursor name): each dead letter
   * (a push whose `info` carries a cause, attempts or a reason) gets a `q-death` record naming it,
   * with the reason (`rejected` unless `info.reason` says otherwise), the count and the time, in
   * the shape every `@q` adapter writes. Without it, dead letters carry only `x-q-error` and
   * `x-q-attempts`.
   * @default none
   */
  deadLetterOf?: string;
}

/**
 * A `Pusher` that appends to a {@link SegmentLog}: `push` and `pushAndConfirm` both resolve once
 * `append` did, that is once the record is durable at the log's `sync` level (at once, without a
 * sync, for `sync: 'none'`). It takes what `append` takes (a body, or `{ body, headers }`), so a
 * record read from a log can be pushed as it is; as a queue's `deadLetter` it keeps the record's
 * headers and adds `x-q-error` (the last error's message) and `x-q-attempts`, as `@q/kafka`'s
 * pusher does. Concurrent pushes share the log's group commit.
 *
 * ```ts
 * import { LogPusher, openLog } from '@q/log';
 *
 * const log = await openLog({ dir: '/var/lib/app/outbox' });
 * await using pusher = new LogPusher({ log });
 * await pusher.pushAndConfirm({ body: '{"id":1}', headers: { 'content-type': 'application/json' } });
 * ```
 */
export class LogPusher implements ConfirmingPusher<AppendInput>, AsyncDisposable {
  readonly #log: SegmentLog;
  readonly #name: string;
  readonly #deadLetterOf: string | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: LogPusherOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
    const log = options.log;
    if (typeof log !== 'object' || log === null || typeof log.append !== 'function') {
      throw new InvalidOptionError('log', log, 'a SegmentLog (from openLog)');
    }
    this.#log = log;
    this.#name = options.name === undefined ? `log:${log.dir}` : nonEmptyString('name', options.name);
    this.#deadLetterOf =
      options.deadLetterOf === undefined ? undefined : nonEmptyString('deadLetterOf', options.deadLetterOf);
  }

  /** The pusher's name. */
  name(): string {
    return this.#name;
  }

  /** Appends `message`; resolves once the log has it durably (see {@link pushAndConfirm}). */
  push(message: AppendInput, info?: PushInfo): Promise<void> {
    return this.pushAndConfirm(message, info);
  }

  /**
   * Appends `message` (with a dead letter's `x-q-error` and `x-q-attempts` headers when `info`
   * carries them) and resolves once the append did. `info.signal` ends only this wait, with
   * `ConfirmAbortedError`: the record may still be written. Rejects with `LogClosedError` after
   * {@link close}, and with the log's own errors (`RecordTooLargeError`, `LogFullError`, ...).
   */
  async pushAndConfirm(message: AppendInput, info?: PushInfo): Promise<void> {
    if (this.#closed) throw new LogClosedError(this.#log.dir);
    const signal = info?.signal;
    if (signal?.aborted === true) throw new ConfirmAbortedError(signal.reason);
    const appended = this.#log.append(withDeadLetterHeaders(message, info, this.#deadLetterOf));
    this.#inFlight.add(appended);
    void appended.then(
      () => this.#inFlight.delete(appended),
      () => this.#inFlight.delete(appended),
    );
    if (signal === undefined) {
      await appended;
      return;
    }
    await abortable(appended, signal, () => {
      appended.catch(() => undefined);
      throw new ConfirmAbortedError(signal.reason);
    });
  }

  /** Refuses new pushes and waits for those under way. The log stays open: it belongs to the caller. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
  }

  /** {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** `message` as `append` takes it, with a dead letter's cause and attempts as headers. */
function withDeadLetterHeaders(
  message: AppendInput,
  info: PushInfo | undefined,
  queue: string | undefined,
): AppendInput {
  if (info?.cause === undefined && info?.attempts === undefined && info?.reason === undefined) return message;
  const isRecord = typeof message === 'object' && !Buffer.isBuffer(message);
  const headers: Record<string, string> = isRecord ? { ...message.headers } : {};
  if (info.cause !== undefined)
    headers['x-q-error'] = info.cause instanceof Error ? info.cause.message : String(info.cause);
  if (info.attempts !== undefined) headers['x-q-attempts'] = String(info.attempts);
  if (queue !== undefined) {
    headers[DEATH_HEADER] = writeDeaths(
      addDeath(readDeaths(headers[DEATH_HEADER]), {
        reason: info.reason ?? 'rejected',
        queue,
        ...(info.cause !== undefined ? { cause: causeText(info.cause) } : {}),
      }),
    );
  }
  return { body: isRecord ? message.body : message, headers };
}
