import type { PushInfo } from '@q/core';
import type { OutgoingMessage } from './client.js';

/** What {@link KafkaPusher.push} takes: a value, or a record with key and headers. */
export type KafkaPusherMessage =
  | string
  | Buffer
  | {
      /** The record's key (null: none); messages with one key go to one partition. */
      key?: Buffer | null;
      /** The record's value (null: a tombstone). */
      value: Buffer | null;
      /** Headers; only string and Buffer values are written. */
      headers?: Record<string, unknown>;
    };

/**
 * The messages of one `pushBatch`, carried through the pusher's chunk executor as a single task: a
 * chunk holding one is sent as exactly these messages, in one `send`. Going through the executor
 * (not beside it) puts the batch behind every chunk buffered before it, and keeps one `send` at a
 * time, so nothing pushed earlier is overtaken and no later write can start while it is unanswered.
 */
export class WholeBatch {
  /** The batch's records, in the caller's order. */
  readonly messages: readonly OutgoingMessage[];
  constructor(messages: readonly OutgoingMessage[]) {
    this.messages = messages;
  }
}

/** A task of the pusher's chunk executor: one pushed message, or a whole batch. */
export type PusherTask = OutgoingMessage | WholeBatch;

/**
 * The records a chunk of the executor stands for: a {@link WholeBatch}'s messages (it is always alone
 * in its chunk), or the chunk itself.
 */
export function recordsOf(chunk: readonly PusherTask[]): readonly OutgoingMessage[] {
  const first = chunk[0];
  return chunk.length === 1 && first instanceof WholeBatch ? first.messages : (chunk as readonly OutgoingMessage[]);
}

/** Bytes a record costs in a batch beyond its key, value and headers (lengths, offsets, attributes). */
export const RECORD_OVERHEAD_BYTES = 20;

/** The bytes of a record's value, what `maxMessageBytes` bounds. */
export function valueBytes(value: OutgoingMessage['value']): number {
  return value === null ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength;
}

/** A string key's length stands in for its bytes: an estimate for sizing chunks, cheap per message. */
export function keyBytes(key: OutgoingMessage['key']): number {
  if (key === null || key === undefined) return 0;
  return typeof key === 'string' ? key.length : key.byteLength;
}

/** Header names and values, measured like {@link keyBytes}. */
export function headerBytes(headers: NonNullable<OutgoingMessage['headers']>): number {
  let n = 0;
  for (const [name, v] of Object.entries(headers)) n += name.length + (typeof v === 'string' ? v.length : v.byteLength);
  return n;
}

let sequence = 0n;

/** kq's key for a bare value: a nanosecond time stamp (and a counter), which spreads messages over partitions. */
export function nextKey(): string {
  sequence++;
  return `${process.hrtime.bigint()}-${sequence}`;
}

/**
 * A pushed message as written: a bare value gets kq's time-stamp key; a record keeps its key and
 * string or Buffer headers, and a dead letter's `info` adds `x-q-error` and `x-q-attempts`.
 */
export function outgoing(message: KafkaPusherMessage, info: PushInfo | undefined): OutgoingMessage {
  if (typeof message === 'string' || Buffer.isBuffer(message)) return { key: nextKey(), value: message };
  const headers: Record<string, Buffer | string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {}))
    if (typeof v === 'string' || Buffer.isBuffer(v)) headers[k] = v;
  if (info?.cause !== undefined)
    headers['x-q-error'] = info.cause instanceof Error ? info.cause.message : String(info.cause);
  if (info?.attempts !== undefined) headers['x-q-attempts'] = String(info.attempts);
  return { key: message.key ?? null, value: message.value, headers };
}

/** {@link outgoing}, with what it throws for a malformed message (null, no value) returned instead. */
export function outgoingOrError(message: KafkaPusherMessage, info: PushInfo | undefined): OutgoingMessage | Error {
  try {
    return outgoing(message, info);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
