import { join } from 'node:path';
import { openLog, type SegmentLog } from '@q/log';
import { DeadLetters } from '../src/delivery/dead-letters.js';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import { startTarget, type Target, tempDir } from './deliverer-target.js';

/**
 * How long a failed record waits for its retry: long enough that on a loaded machine every record of a
 * test has failed once and waits (none retried yet) when the test closes its deliverer.
 */
export const RETRY_MS = 1_500;

/** Waits until every retry scheduled before now was due (and would have been sent). */
export function pastRetries(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, RETRY_MS + 500));
}

/** What {@link sharedEngineCase} set up; `target` answers 500 to everything while `state.down`. */
export interface SharedEngineCase {
  readonly target: Target;
  readonly engine: DeliveryEngine;
  readonly log: SegmentLog;
  readonly state: { down: boolean };
}

/**
 * The set-up of the close-on-a-shared-engine tests: a target (seeded, down while `state.down`), a shared
 * engine whose retries wait `retryMs`, its dead letters, and a log holding `records` records `{"seq":n}`.
 * Each part is handed to `cleanup` to close.
 */
export async function sharedEngineCase(
  prefix: string,
  cleanup: (close: () => Promise<void>) => void,
  options: { seed: number; records: number; down?: boolean; retryMs?: number },
): Promise<SharedEngineCase> {
  const tmp = await tempDir(prefix);
  cleanup(() => tmp.remove());
  const state = { down: options.down ?? false };
  const target = await startTarget({ seed: options.seed, faults: () => (state.down ? { fail500: 1 } : {}) });
  cleanup(() => target.close());
  const deadLetters = await DeadLetters.open({ dir: join(tmp.dir, 'dead-letter') });
  cleanup(() => deadLetters.close());
  const retryMs = options.retryMs ?? RETRY_MS;
  const engine = new DeliveryEngine({
    deadLetters,
    concurrency: 8,
    retry: { minDelayMs: retryMs, maxDelayMs: retryMs },
  });
  cleanup(() => engine.close());
  const log = await openLog({ dir: join(tmp.dir, 'log') });
  cleanup(() => log.close());
  await log.appendBatch(Array.from({ length: options.records }, (_, seq) => ({ body: `{"seq":${seq}}` })));
  return { target, engine, log, state };
}
