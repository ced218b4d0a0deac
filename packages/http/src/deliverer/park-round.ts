import type { DeliveryEngine } from '../delivery/delivery-engine.js';
import type { DeliveryItem } from '../delivery/types.js';
import type { WorkCount } from '../delivery/work-count.js';
import type { HeldItems } from './held-items.js';
import type { KeyedRouter } from './keyed-router.js';
import type { ParkEntry, ParkedItem, RunItems } from './run-items.js';

/** What one park round works with: the run's items, the engine, the park log, and the run's bookkeeping. */
export interface ParkRoundParts {
  readonly engine: DeliveryEngine;
  readonly items: RunItems;
  readonly held: HeldItems;
  readonly maxUnfinished: number;
  /** The window is three quarters full: withdraw from the engine (else only the queued records go). */
  readonly full: boolean;
  readonly parkable: ((item: DeliveryItem) => boolean) | undefined;
  /** Stores a batch (all or none); resolves with the seqs it was stored at (the park run's moves need them). */
  readonly park: (batch: readonly ParkedItem[]) => Promise<unknown>;
  readonly keyed: KeyedRouter | undefined;
  readonly outside: WorkCount;
  readonly error: (error: unknown, message: string) => void;
  /** `n` withdrawn `deliver()` calls are answered (the round took them over). */
  readonly answered: (n: number) => void;
  /** Marks a stored record finished in the run's window. */
  readonly settle: (seq: number) => void;
  /** Hands records back to the engine (nothing once the run stopped). */
  readonly sendBack: (entries: readonly ParkEntry[]) => void;
}

/**
 * One park round: withdraws the lowest unfinished items that only wait for their retry (keyed ones with
 * their key's whole line and the key's records held for their time), parks them with the records queued
 * by the run's {@link KeyedRouter}, and only then marks them finished in the run. Withdrawn first, so no
 * attempt starts while they are being stored; not stored, they are handed back to the engine with their
 * attempts and retry time (or queued again, as the router says). True when some were parked.
 */
export async function parkRound(p: ParkRoundParts): Promise<boolean> {
  // A round withdraws at most half a window (a key's line may pass it).
  const most = Math.max(1, Math.floor(p.maxUnfinished / 2));
  const keyed = p.keyed;
  const withdrawn = p.full
    ? p.items.withdrawForPark(p.engine, p.parkable, most, keyed && ((key) => keyed.mayWithdraw(key)))
    : [];
  let batch = withdrawn;
  if (keyed !== undefined) {
    const lines = withdrawn.filter((e) => e.item.key !== undefined);
    const held: ParkEntry[] = [];
    for (const { item, seq, due } of p.held.takeKeys(new Set(lines.map((e) => e.item.key as string)))) {
      held.push({
        item,
        seq,
        withdrawn: { attempts: item.attempts ?? 0, nextAttemptAt: due, cause: 'waiting for its key' },
      });
    }
    keyed.withdrew([...lines, ...held]);
    batch = [...withdrawn, ...held, ...keyed.takeQueued()];
  }
  if (batch.length === 0) return false;
  keyed?.begin(batch);
  const stored = batch.map(({ item, withdrawn: w }) => ({ item, withdrawn: w, gen: keyed?.genOf(item) ?? 0 }));
  // The withdrawn ones' deliver() calls stay pending (the withdrawal's rejection is ignored) until the park answered.
  let seqs: unknown;
  try {
    seqs = await p.outside.track(p.park(stored));
  } catch (err) {
    p.error(err, 'http: parking records failed; they wait for their retry here');
    p.answered(withdrawn.length);
    // A stopped run hands nothing back: they stay unfinished, the cursor below them, read again at the next start.
    p.sendBack(keyed === undefined ? batch : keyed.failed(batch));
    return false;
  }
  p.answered(withdrawn.length);
  keyed?.stored(batch, Array.isArray(seqs) ? seqs : []);
  for (const { seq } of batch) p.settle(seq);
  return true;
}
