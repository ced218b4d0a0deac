import { settledWithin } from '@q/core/internal';
import type { DeliveryRun } from './delivery-run.js';

/** How often a deliverer closing on a shared engine looks again at what of its runs is being sent. */
const LOOK_EVERY_MS = 20;

/**
 * How a deliverer closes on a shared engine, which outlives it: it waits only while the engine is sending
 * (or about to send) records of its runs, and at every look takes back what only waits for time, so the
 * engine does not send it after the close and the next start does, in order. A record that failed while
 * close waited (its retry scheduled then) is taken back at the next look. What cannot be taken back (a
 * key's line that holds another deliverer's records) stays in the engine, not waited for. Returns once
 * the runs are drained, nothing of them is being sent, or `left()` reaches 0.
 */
export async function settleOnShared(
  runs: readonly (DeliveryRun | undefined)[],
  drained: Promise<unknown>,
  left: () => number,
): Promise<void> {
  while (left() > 0) {
    let sending = false;
    for (const run of runs) if (run?.withdrawWaiting() === true) sending = true;
    if (!sending || (await settledWithin(drained, Math.min(LOOK_EVERY_MS, left())))) return;
  }
}
