import { Queue, type QueueOptions, silentLogger } from '@q/core';
import { delay } from '../wait.js';
import type { Destination, Received, Running } from './adapter.js';

/** Options of {@link consume}. */
export interface ConsumeOptions {
  /** Stop once every one of these ids was handled successfully. */
  readonly until?: ReadonlySet<string>;
  /** Or stop once nothing new was handled for this long (ms) after `minMs`. */
  readonly idleMs?: number;
  /** Never stop before this (ms): gives redeliveries and expiries their time. */
  readonly minMs?: number;
  /** Or stop once this many were handled. */
  readonly stopAfter?: number;
  /** The deadline of the final `stop()` (0: nack at once what is unfinished). @default 10000 */
  readonly stopTimeoutMs?: number;
  /** Fails past this (ms). @default 40000 */
  readonly timeoutMs?: number;
  /** Called for each message before it counts; a throw fails that attempt. */
  readonly handler?: (message: Received) => void | Promise<void>;
  /** Extra queue options (consumers, keyOf, deadLetter, retry...). */
  readonly queue?: Partial<QueueOptions<unknown>>;
}

/** What {@link consume} saw. */
export interface Consumed {
  /** Every successful handling, in the order the handlers finished. */
  readonly handled: Received[];
  /** Every attempt, failed ones included, in the order they started. */
  readonly attempts: Received[];
}

/**
 * Runs a Queue on `destination` until `until` was handled (or idle), stops it (which settles
 * everything handled), and returns what the handlers saw.
 */
export async function consume(destination: Destination, options: ConsumeOptions = {}): Promise<Consumed> {
  const handled: Received[] = [];
  const attempts: Received[] = [];
  const missing = new Set(options.until ?? []);
  const handle = async (message: unknown): Promise<void> => {
    const received = destination.decode(message);
    attempts.push(received);
    await options.handler?.(received);
    handled.push(received);
    missing.delete(received.id);
  };
  const running = runOn(destination, handle, {
    name: `conformance-${destination.name}`,
    consumers: 4,
    logger: silentLogger,
    retry: { attempts: 1 },
    ...options.queue,
  });
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 40_000;
  let lastCount = -1;
  let lastChange = Date.now();
  try {
    for (;;) {
      await delay(20);
      const now = Date.now();
      if (attempts.length !== lastCount) {
        lastCount = attempts.length;
        lastChange = now;
      }
      const waited = now - started;
      if (waited < (options.minMs ?? 0)) continue;
      if (options.until !== undefined && missing.size === 0) break;
      if (options.stopAfter !== undefined && handled.length >= options.stopAfter) break;
      if (options.idleMs !== undefined && now - lastChange >= options.idleMs) break;
      if (waited > timeoutMs) {
        throw new Error(
          `consume: ${missing.size} of ${options.until?.size ?? 0} ids not handled after ${timeoutMs} ms`,
        );
      }
    }
  } finally {
    await running.stop({ timeoutMs: options.stopTimeoutMs ?? 10_000 });
    await running.done;
  }
  return { handled, attempts };
}

/** Runs `handle` on `destination`: its own consumer when it has one, else a Queue of its producer factory. */
export function runOn(
  destination: Destination,
  handle: (message: unknown) => Promise<void>,
  options: Partial<QueueOptions<unknown>>,
): Running {
  if (destination.run !== undefined) return destination.run(handle, options);
  const queue = new Queue<unknown>(destination.producerFactory(), () => ({ consume: handle }), options);
  return { done: queue.start(), stop: (o) => queue.stop(o) };
}

/** `n` messages with ids `<prefix>-<i>` spread over `keys` keys, in push order. */
export function messages(prefix: string, n: number, keys = 8): { id: string; key: string }[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, key: `k${i % keys}` }));
}

/** Pushes every message through one pusher (confirmed), then closes it; returns each push's outcome. */
export async function pushAll(
  destination: Destination,
  batch: readonly { id: string; key: string }[],
): Promise<PromiseSettledResult<void>[]> {
  const pusher = destination.pusher();
  try {
    return await Promise.allSettled(
      batch.map(
        (m) => (pusher.pushAndConfirm !== undefined ? pusher.pushAndConfirm(m) : pusher.push(m)) as Promise<void>,
      ),
    );
  } finally {
    await pusher.close();
  }
}
