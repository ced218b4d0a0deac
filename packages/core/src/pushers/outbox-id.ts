import { InvalidOptionError } from '../support/errors.js';

/**
 * The header every message forwarded by `@q/outbox` carries: its stable id, `<outbox id>:<sequence>`,
 * the same on every replay. Sinks and consumers de-duplicate by it (`RedisListPusher`'s
 * `dedupe: 'outbox-id'`, `KafkaQueue`'s `dedupe: 'outbox-id'`).
 */
export const OUTBOX_ID_HEADER = 'q-outbox-id';

/** An outbox id taken apart: which outbox, and the message's sequence number in it. */
export interface OutboxId {
  /** The outbox's own id (letters, digits, `.`, `_`, `-`; no `:`). */
  readonly outbox: string;
  /** The message's sequence number: a non-negative safe integer, increasing in acceptance order. */
  readonly seq: number;
}

/** An outbox id as the outbox that made it knows it: its `q-outbox-id` text, and its parts. */
export interface KnownOutboxId extends OutboxId {
  /** `<outbox>:<seq>`, the same string as the message's `q-outbox-id` header. */
  readonly id: string;
}

/**
 * Where `@q/outbox` puts a forwarded message's {@link KnownOutboxId}, beside its `q-outbox-id` header, so
 * that a de-duplicating sink need not parse the header per message (the parse was an eighth of the
 * forwarder's CPU). A sink uses it only while the header still reads `id`: see {@link outboxIdOf}.
 */
export const OUTBOX_ID: unique symbol = Symbol('q.outbox-id');

/**
 * The outbox id of a message whose `q-outbox-id` header reads `header`: the one attached under
 * {@link OUTBOX_ID} when it is that same id, else the header parsed (`undefined` when it is not an id).
 */
export function outboxIdOf(message: object, header: unknown): OutboxId | undefined {
  const known = (message as { readonly [OUTBOX_ID]?: KnownOutboxId })[OUTBOX_ID];
  if (known !== undefined && known.id === header) return known;
  return parseOutboxId(Buffer.isBuffer(header) ? header.toString() : header);
}

const OUTBOX = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Whether `name` can be an outbox's own id: 1 to 128 of `[A-Za-z0-9._-]`. The one rule `@q/outbox` checks
 * its ids by and {@link parseOutboxId} reads them by: an id it accepted and the sinks could not parse
 * would never be de-duplicated.
 */
export function isOutboxName(name: unknown): name is string {
  return typeof name === 'string' && OUTBOX.test(name);
}
const SEQ = /^(0|[1-9][0-9]{0,15})$/;

/**
 * `<outbox>:<seq>`.
 * @throws {InvalidOptionError} when `outbox` is not 1 to 128 of `[A-Za-z0-9._-]` or `seq` not a safe integer >= 0.
 */
export function formatOutboxId(outbox: string, seq: number): string {
  if (!isOutboxName(outbox)) throw new InvalidOptionError('outbox', outbox, '1 to 128 characters of A-Z a-z 0-9 . _ -');
  if (!Number.isSafeInteger(seq) || seq < 0) throw new InvalidOptionError('seq', seq, 'a safe integer >= 0');
  return `${outbox}:${seq}`;
}

/**
 * The outbox name {@link parseOutboxId} last found valid: a sink sees one outbox's ids in long runs, and
 * the name's check was a third of the parse.
 */
let lastOutbox = '';

/** Takes `<outbox>:<seq>` apart; `undefined` when `id` is not one (a consumer then treats the message as unknown). */
export function parseOutboxId(id: unknown): OutboxId | undefined {
  if (typeof id !== 'string') return undefined;
  const colon = id.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const outbox = id.slice(0, colon);
  if (outbox !== lastOutbox) {
    if (!isOutboxName(outbox)) return undefined;
    lastOutbox = outbox;
  }
  const digits = id.slice(colon + 1);
  if (!SEQ.test(digits)) return undefined;
  const seq = Number(digits);
  return Number.isSafeInteger(seq) ? { outbox: lastOutbox, seq } : undefined;
}
