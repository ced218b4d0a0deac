import type { LogState } from './log-state.js';
import { readRecords } from './read-path.js';
import type { LogRecord } from './record.js';

/** Sleeps until the log changes or the signal aborts. */
function changedOrAborted(state: LogState, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return state.changed();
  return new Promise<void>((resolve) => {
    const onAbort = (): void => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    void state.changed().then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/**
 * Records from `from` on, then new ones as they become durable: the writer wakes it after each group, so it
 * never polls. Its position holds retention back from the segment it is in. Ends on close or abort.
 */
export async function* tail(
  state: LogState,
  from: number | undefined,
  batch: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<LogRecord, void, undefined> {
  const slot = { position: from ?? state.firstSeq };
  state.readers.add(slot);
  try {
    while (!state.closed && !signal?.aborted && !state.fatal) {
      if (slot.position < state.durableSeq) {
        const records = await readRecords(state, slot.position, batch, Number.POSITIVE_INFINITY);
        if (records.length > 0) {
          for (const r of records) {
            slot.position = r.seq + 1;
            yield r;
            if (state.closed || signal?.aborted) return;
          }
          continue;
        }
      }
      await changedOrAborted(state, signal);
    }
  } finally {
    state.readers.delete(slot);
  }
}
