import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from '@q/core';

/** Messages per slow-key run: few enough that a run stuck behind 1 s handlers still ends in seconds. */
export const SLOW_KEY_MESSAGES = 200_000;
const KEYS = 1000;
/** Key 0 appears only among the first this many values: 0, 1,000, ..., 9,000, so 10 messages. */
const SLOW_UNTIL = 10_000;
const SLOW_KEY_MESSAGE_COUNT = SLOW_UNTIL / KEYS;
const SLOW_MS = 1000;
/** A run that has not seen every fast-key message by then reports the rate measured so far. */
const CAP_MS = 60_000;

/** What a slow-key run measured: fast-key messages consumed, and in how many milliseconds. */
export interface Timed {
  messages: number;
  ms: number;
}

/**
 * One keyed Queue (`keyOf: m % 1000`) moving {@link SLOW_KEY_MESSAGES} messages, timed from the first
 * message produced until every fast-key (non-zero key) message was consumed; key 0's messages are
 * not waited for. With `slow`, each key-0 message takes 1 s, every other message is a no-op; without
 * it, key 0 is a no-op too, and everything else (messages, keys, set-up) is identical.
 *
 * The message stream: values 0..9,999, then counting on from 10,000 but skipping multiples of 1,000.
 * So key 0 gets exactly 10 messages, all early: the slow key's own backlog is at most 9 messages
 * (about 10 s of work, longer than the fast keys need), and it stays busy during the whole
 * measurement. Fast keys 1..999 share the remaining 199,990 messages evenly.
 *
 * The wait is capped at 60 s (a queue where the slow key stalls everything must still end); the
 * queue is then stopped with `timeoutMs: 0`, so the slow key's leftovers are nacked instead of
 * waited for, and the slow handler's timer is cancelled through its `signal`.
 */
export async function runSlowKey(
  slow: boolean,
  options: { consumers: number; capacity: number; batchSize: number },
): Promise<Timed> {
  const fastTotal = SLOW_KEY_MESSAGES - SLOW_KEY_MESSAGE_COUNT;
  let produced = 0;
  let value = 0;
  let t0 = 0;
  let fast = 0;
  let fastDone!: () => void;
  const allFast = new Promise<void>((resolve) => {
    fastDone = resolve;
  });
  const queue = new Queue<number>(
    () => ({
      produce() {
        if (t0 === 0) t0 = performance.now();
        if (produced >= SLOW_KEY_MESSAGES) return undefined;
        const size = Math.min(options.batchSize, SLOW_KEY_MESSAGES - produced);
        const out = new Array<number>(size);
        for (let k = 0; k < size; k++) {
          if (value >= SLOW_UNTIL && value % KEYS === 0) value++;
          out[k] = value++;
        }
        produced += size;
        return out;
      },
    }),
    () => ({
      async consume(m: number, context) {
        if (m % KEYS !== 0) {
          if (++fast === fastTotal) fastDone();
          return;
        }
        if (slow) await sleep(SLOW_MS, undefined, { signal: context.signal }).catch(() => {});
      },
    }),
    { ...options, producers: 1, keyOf: (m) => m % KEYS, statsIntervalMs: 0 },
  );
  const running = queue.start();
  const cap = new AbortController();
  await Promise.race([allFast, sleep(CAP_MS, undefined, { signal: cap.signal }).catch(() => {})]);
  const ms = performance.now() - t0;
  const messages = fast;
  cap.abort();
  await queue.stop({ timeoutMs: 0 });
  await running;
  if (messages < fastTotal) console.error(`  slow key run capped at ${CAP_MS / 1000} s: ${messages}/${fastTotal}`);
  return { messages, ms };
}
