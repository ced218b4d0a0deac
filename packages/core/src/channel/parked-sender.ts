import type { Deque } from './deque.js';
import { SINGLE, type SlotRing, takeRun } from './slot-ring.js';

/** Messages taken back out of a channel by {@link Channel.reclaim}, with the origin they came from. */
export interface Reclaimed<T, O> {
  /** The origin the messages were sent with. */
  readonly origin: O;
  /** The messages, in the order they were sent. */
  readonly messages: T[];
}

/** A sender waiting for room (or, at capacity 0, for a receiver), holding what it could not hand over yet. */
export interface ParkedSender<T, O> {
  /** The batch being sent, or `undefined` for a single message in {@link ParkedSender.single}. */
  readonly batch: readonly T[] | undefined;
  readonly single: T | undefined;
  start: number;
  readonly end: number;
  readonly origin: O;
  readonly resolve: (delivered: boolean) => void;
}

/**
 * Takes every buffered and every waiting message out of a channel's ring and parked senders, grouped
 * by origin in FIFO order, releasing the senders with `false`.
 */
export function reclaimAll<T, O>(ring: SlotRing<T, O>, senders: Deque<ParkedSender<T, O>>): Reclaimed<T, O>[] {
  const out: Reclaimed<T, O>[] = [];
  const add = (origin: O, messages: readonly T[]): void => {
    const last = out[out.length - 1];
    if (last !== undefined && last.origin === origin) last.messages.push(...messages);
    else out.push({ origin, messages: [...messages] });
  };
  while (ring.size !== 0) {
    const h = ring.head;
    const end = ring.ends[h] as number;
    if (end === SINGLE) add(ring.origins[h] as O, [ring.values[h] as T]);
    else add(ring.origins[h] as O, (ring.values[h] as readonly T[]).slice(ring.starts[h], end));
    ring.pop();
  }
  for (let s = senders.shift(); s !== undefined; s = senders.shift()) {
    add(s.origin, s.batch === undefined ? [s.single as T] : s.batch.slice(s.start, s.end));
    s.resolve(false);
  }
  return out;
}

/**
 * Appends to `run`, from the parked senders of `origin` in order, the messages whose key is `key`, up
 * to `max` in `run`, releasing each sender it empties; returns how many it took. Stops at the first
 * other key or origin.
 */
export function takeRunFromSenders<T, O>(
  senders: Deque<ParkedSender<T, O>>,
  origin: O,
  keyOf: (message: T) => unknown,
  key: unknown,
  max: number,
  run: T[],
): number {
  let taken = 0;
  while (run.length < max) {
    const sender = senders.peek();
    if (sender === undefined || sender.origin !== origin) break;
    if (sender.batch === undefined) {
      if (keyOf(sender.single as T) !== key) break;
      run.push(sender.single as T);
      taken++;
      senders.shift();
      sender.resolve(true);
      continue;
    }
    const start = sender.start;
    const i = takeRun(sender.batch, start, Math.min(sender.end, start + max - run.length), keyOf, key, run);
    taken += i - start;
    sender.start = i;
    if (i !== sender.end) break;
    senders.shift();
    sender.resolve(true);
  }
  return taken;
}
