import { OUTBOX_ID_HEADER } from '@q/core';
import { outboxIdOf } from '@q/core/internal';
import type { Cluster, Redis } from 'ioredis';
import { InvalidMessageError, InvalidOutboxIdError } from './errors.js';
import { withScripts } from './scripts.js';
import { withoutBodies } from './without-bodies.js';

/** What a {@link RedisListPusher} accepts: a body, or a message whose body is pushed (an at-least-once message, an outbox's). */
export type PushableMessage =
  | string
  | Buffer
  | {
      /** What is pushed: the message's body. */
      readonly body: string | Buffer;
      /**
       * Never pushed as such. Read with `dedupe: 'outbox-id'` for its `q-outbox-id`
       * (`<outbox>:<seq>`), and with `ttlMs` for a `q-expires-at` (the earlier expiry is stamped).
       * @default none
       */
      readonly headers?: Readonly<Record<string, string | Buffer | undefined>>;
    };

/** A message of a de-duplicating pusher: its body and its `q-outbox-id`, taken apart. */
export class OutboxEntry {
  /** The body's length in bytes, counted once: the executor's chunks and the writer's packing both need it. */
  readonly bytes: number;
  constructor(
    readonly outbox: string,
    readonly seq: number,
    readonly body: string | Buffer,
  ) {
    this.bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  }
}

/**
 * A message of a pusher with `overflow: 'reject-publish'`: its body, and whether the write refused it
 * (set by the writer, read by the push once its chunk was written).
 */
export class CappedEntry {
  rejected = false;
  constructor(readonly body: string | Buffer) {}
}

/** One message as the executor holds it: a body, or a body with its outbox id (dedupe mode) or its verdict (reject-publish). */
export type Item = string | Buffer | OutboxEntry | CappedEntry;

/**
 * The messages of one `pushBatch`, held as a single task: the chunk executor never splits a task, so
 * the batch goes out in one write, after what was buffered before it.
 */
export class BatchTask {
  /** Set by a reject-publish writer when the batch did not fit (it is then stored not at all). */
  rejected = false;
  constructor(readonly items: readonly Item[]) {}
}

/** What the executor batches. */
export type Task = Item | BatchTask;

/** Counters a writer keeps: see `RedisListPusherStats`. */
export interface WriteCounters {
  written: number;
  duplicatesSkipped: number;
  rejected: number;
  dropped: number;
}

/** Turns messages into tasks and writes chunks of tasks: one RPUSH, or one call of outbox-push-2.lua. */
export interface ListWriter {
  /**
   * The item for `message`, checked.
   * @param index the message's position in its `pushBatch`, for the error.
   * @throws {InvalidMessageError} for anything but a string, a Buffer or `{ body }` of one.
   * @throws {InvalidOutboxIdError} in dedupe mode, for a message without a valid `q-outbox-id`.
   */
  item(message: PushableMessage, index?: number): Item;
  /** Writes the tasks, in order, in one request; rejects with the error (bodies removed). */
  write(tasks: Task[]): Promise<void>;
}

/** A writer of plain RPUSHes to `key`. */
export function plainWriter(redis: Redis | Cluster, key: string, counters: WriteCounters): ListWriter {
  return {
    item: bodyOf,
    async write(tasks) {
      // One array, no spread: a spread of a large batch into a call overflows the stack.
      const args: (string | Buffer)[] = [key];
      for (const task of tasks) {
        if (task instanceof BatchTask) for (const item of task.items) args.push(item as string | Buffer);
        else args.push(task as string | Buffer);
      }
      try {
        await redis.call('rpush', args);
      } catch (error) {
        throw withoutBodies(error);
      }
      counters.written += args.length - 1;
    },
  };
}

/**
 * Runs whose bodies average at most this many bytes travel packed (one MessagePack argument); larger
 * ones as one argument each. Measured: at 10 to 300 bytes packing cost the client a third to a fifth
 * of what ioredis spent encoding the arguments; at 1 KB both cost the same and the server took longer
 * to unpack than to read arguments.
 */
const PACK_AVERAGE_BYTES = 256;
/** Most bytes one packed argument takes (bodies and MessagePack heads): well below the least proto-max-bulk-len (1 MB). */
const PACK_MAX_BYTES = 512 * 1024;

/** A writer through outbox-push-2.lua: only messages above their outbox's high-water mark are pushed. */
export function dedupeWriter(
  redis: Redis | Cluster,
  key: string,
  highWaterKey: string,
  counters: WriteCounters,
): ListWriter {
  const scripted = withScripts(redis);
  return {
    item: outboxEntryOf,
    async write(tasks) {
      // Runs of one outbox with consecutive sequences travel as (outbox, first, last, form, bodies):
      // no work per message in the script.
      const args: (string | Buffer)[] = [];
      let run: OutboxEntry[] = [];
      const end = (): void => {
        // Cut into parts that each pack into at most PACK_MAX_BYTES (5 bytes of MessagePack head per body):
        // Redis refuses an argument over its proto-max-bulk-len (512 MB by default, settable down to 1 MB).
        let from = 0;
        let bytes = 0;
        for (let k = 0; k < run.length; k++) {
          const size = (run[k] as OutboxEntry).bytes;
          if (k > from && 5 * (k - from + 2) + bytes + size > PACK_MAX_BYTES) {
            addRun(from, k, bytes);
            from = k;
            bytes = 0;
          }
          bytes += size;
        }
        addRun(from, run.length, bytes);
        run = [];
      };
      /** Adds `run[from, to)`, whose bodies are `bytes` long, as one run in the form its size calls for. */
      const addRun = (from: number, to: number, bytes: number): void => {
        if (to === from) return;
        const head = run[from] as OutboxEntry;
        args.push(head.outbox, String(head.seq), String(head.seq + (to - from - 1)));
        if (bytes <= PACK_AVERAGE_BYTES * (to - from)) args.push('m', packBodies(run, from, to, bytes));
        else {
          args.push('a');
          for (let k = from; k < to; k++) args.push((run[k] as OutboxEntry).body);
        }
      };
      const add = (item: Item): void => {
        const entry = item as OutboxEntry;
        const last = run[run.length - 1];
        if (last !== undefined && (entry.outbox !== last.outbox || entry.seq !== last.seq + 1)) end();
        run.push(entry);
      };
      for (const task of tasks) {
        if (task instanceof BatchTask) for (const item of task.items) add(item);
        else add(task);
      }
      end();
      let reply: [number, number];
      try {
        reply = await scripted.qOutboxPush(key, highWaterKey, args);
      } catch (error) {
        throw withoutBodies(error);
      }
      counters.written += Number(reply[0]);
      counters.duplicatesSkipped += Number(reply[1]);
    },
  };
}

/**
 * The bodies of `entries[from, to)` (`bytes` in all, as UTF-8) as one MessagePack array of strings (array 32,
 * str 32: the script's `cmsgpack.unpack` gives Lua strings, bytes as they are).
 */
function packBodies(entries: readonly OutboxEntry[], from: number, to: number, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(5 + 5 * (to - from) + bytes);
  out[0] = 0xdd;
  out.writeUInt32BE(to - from, 1);
  let at = 5;
  for (let k = from; k < to; k++) {
    const body = (entries[k] as OutboxEntry).body;
    const length = typeof body === 'string' ? out.write(body, at + 5, 'utf8') : body.copy(out, at + 5);
    out[at] = 0xdb;
    out.writeUInt32BE(length, at + 1);
    at += 5 + length;
  }
  return out;
}

/** The body an item carries. */
export function itemBody(item: Item): string | Buffer {
  return typeof item === 'string' || Buffer.isBuffer(item) ? item : item.body;
}

/** Bytes of an item's body, as the chunk executor counts them. */
export function bytesOf(item: Item): number {
  if (item instanceof OutboxEntry) return item.bytes;
  const body = itemBody(item);
  return typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
}

/** The bodies of `tasks`, batches opened. */
export function bodiesOf(tasks: readonly Task[]): (string | Buffer)[] {
  const bodies: (string | Buffer)[] = [];
  const add = (item: Item): void => void bodies.push(itemBody(item));
  for (const task of tasks) {
    if (task instanceof BatchTask) for (const item of task.items) add(item);
    else add(task);
  }
  return bodies;
}

/** The body of a message. @throws {InvalidMessageError} for anything but a string, a Buffer or `{ body }` of one. */
export function bodyOf(message: PushableMessage): string | Buffer {
  if (typeof message === 'string' || Buffer.isBuffer(message)) return message;
  if (message !== null && typeof message === 'object') {
    const body = (message as { body?: unknown }).body;
    if (typeof body === 'string' || Buffer.isBuffer(body)) return body;
  }
  throw new InvalidMessageError(message);
}

function outboxEntryOf(message: PushableMessage, index?: number): OutboxEntry {
  const body = bodyOf(message);
  // A bare string or Buffer has no headers, so no id.
  const withHeaders = typeof message === 'object' && !Buffer.isBuffer(message) ? message : undefined;
  const headers = withHeaders?.headers;
  const raw: unknown = headers !== null && typeof headers === 'object' ? headers[OUTBOX_ID_HEADER] : undefined;
  const id = withHeaders === undefined ? undefined : outboxIdOf(withHeaders, raw);
  if (id === undefined) throw new InvalidOutboxIdError(message, raw, index);
  return new OutboxEntry(id.outbox, id.seq, body);
}
