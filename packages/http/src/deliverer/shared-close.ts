import { settledWithin } from '@q/core/internal';
import type { DeliveryEngine } from '../delivery/delivery-engine.js';
import type { DeliveryRun } from './delivery-run.js';
import type { OwnerOf } from './run-items.js';

/** How often a deliverer closing on a shared engine looks again at what of its runs is being sent. */
const LOOK_EVERY_MS = 20;

/**
 * How a deliverer closes on a shared engine, which outlives it: it waits only while the engine is sending
 * (or about to send) records of its runs, and at every look takes back what only waits for time, so the
 * engine does not send it after the close and the next start does, in order. A record that failed while
 * close waited (its retry scheduled then) is taken back at the next look. A key's line is taken back whole
 * when all of it belongs to the deliverer's runs (a replay's line may hold live records of its key), each
 * record by its own run. What cannot be taken back (a key's line that holds another deliverer's records)
 * stays in the engine, not waited for. Returns once
 * the runs are drained, nothing of them is being sent, or `left()` reaches 0.
 */
export async function settleOnShared(
  runs: readonly (DeliveryRun | undefined)[],
  engine: DeliveryEngine,
  drained: Promise<unknown>,
  left: () => number,
): Promise<void> {
  const mine = runs.filter((run) => run !== undefined);
  while (left() > 0) {
    // Built once per look: a line may hold records of several of the deliverer's runs (a replay's, the live run's).
    const lookups = mine.map((run) => ({ items: run.items, seqOf: run.items.lookup() }));
    const ownerOf: OwnerOf = (item) => {
      for (const { items, seqOf } of lookups) {
        const seq = seqOf(item);
        if (seq !== undefined) return { items, seq };
      }
      return undefined;
    };
    for (const run of mine) run.items.withdrawWaiting(engine, ownerOf);
    const sending = mine.some((run) => run.items.sending(engine));
    if (!sending || (await settledWithin(drained, Math.min(LOOK_EVERY_MS, left())))) return;
  }
}
