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

const OUTBOX = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Whether `name` can be an outbox's own id: 1 to 128 of `[A-Za-z0-9._-]`. The one rule `@q/outbox` checks
 * its ids by and {@link parseOutboxId} reads them by: an id it accepted and the sinks could not parse
 * would never be de-duplicated.
 */
export function isOutboxName(name: unknown): name is string {
  return typeof name === 'string' && OUTBOX.test(name);
}

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
 * The outbox name {@link parseOutboxId} last found valid: a sink sees one outbox's ids in long runs,
 * and the name's check was a third of the parse.
 */
let lastOutbox = '';

/** Takes `<outbox>:<seq>` apart; `undefined` when `id` is not one (a consumer then treats the message as unknown). */
export function parseOutboxId(id: unknown): OutboxId | undefined {
  // Written with charCodeAt only: lastIndexOf and startsWith cost 20-50 ns each here, most of a parse.
  if (typeof id !== 'string') return undefined;
  // The sequence is what follows the last colon: digits back from the end, then that colon.
  let colon = id.length - 1;
  while (colon >= 0 && isDigit(id.charCodeAt(colon))) colon--;
  if (colon <= 0 || id.charCodeAt(colon) !== 0x3a) return undefined;
  const seq = decimalAt(id, colon + 1);
  if (seq < 0) return undefined;
  let outbox = lastOutbox;
  if (colon !== outbox.length || !startsWithName(id, outbox)) {
    outbox = id.slice(0, colon);
    if (!isOutboxName(outbox)) return undefined;
    lastOutbox = outbox;
  }
  return { outbox, seq };
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Whether `id` starts with `name` (`name` not longer than `id`). */
function startsWithName(id: string, name: string): boolean {
  for (let i = 0; i < name.length; i++) if (id.charCodeAt(i) !== name.charCodeAt(i)) return false;
  return true;
}

/** The number the digits of `id` from `at` to its end write (no leading zero, at most 16 digits, safe), or -1. */
function decimalAt(id: string, at: number): number {
  const length = id.length - at;
  if (length < 1 || length > 16 || (length > 1 && id.charCodeAt(at) === 0x30)) return -1;
  let seq = 0;
  for (let i = at; i < id.length; i++) seq = seq * 10 + (id.charCodeAt(i) - 0x30);
  return Number.isSafeInteger(seq) ? seq : -1;
}
