/**
 * Settles like `promise`, unless `signal` aborts first: then with what `onAbort` returns (or rejects
 * with what it throws). The listener is removed either way, so a long-lived signal collects none.
 *
 * ```ts
 * const popped = await abortable(redis.lpop(key, 100), signal, () => undefined);
 * ```
 */
export function abortable<T, U>(promise: Promise<T>, signal: AbortSignal, onAbort: () => U): Promise<T | U> {
  if (signal.aborted) return new Promise<U>((resolve) => resolve(onAbort()));
  return new Promise<T | U>((resolve, reject) => {
    const unsubscribe = whenAborted(signal, () => {
      try {
        resolve(onAbort());
      } catch (error) {
        reject(error);
      }
    });
    promise.then(
      (value) => {
        unsubscribe();
        resolve(value);
      },
      (error: unknown) => {
        unsubscribe();
        reject(error);
      },
    );
  });
}

/** The waits on one signal, behind its one listener. */
interface Waits {
  readonly callbacks: Set<() => void>;
  readonly fire: () => void;
}

/**
 * The waits on each signal. A signal shared by many concurrent waits (one per process or request is
 * the usual way to use them) gets one listener, not one per wait: Node warns of a leak past 10.
 */
const waiting = new WeakMap<AbortSignal, Waits>();

/** Signals whose one listener stays between waits: see {@link keepListening}. */
const kept = new WeakSet<AbortSignal>();

/**
 * Keeps `signal`'s one listener attached between waits, until it aborts, instead of removing it with
 * each last wait. For a signal that many short waits use one after another for long, such as one per
 * connection: adding and removing an `abort` listener per wait cost about a tenth of the outbox
 * proxy's CPU. Only for a plain `AbortController`'s signal: Node keeps a timeout or `AbortSignal.any`
 * signal with an `abort` listener alive until it aborts.
 */
export function keepListening(signal: AbortSignal): void {
  kept.add(signal);
}

/** Calls `callback` once when `signal` aborts; returns the function that cancels that. */
export function whenAborted(signal: AbortSignal, callback: () => void): () => void {
  if (signal.aborted) {
    // An aborted signal fires no more events: call back as its listener would have, soon.
    let cancelled = false;
    queueMicrotask(() => {
      if (!cancelled) callback();
    });
    return () => {
      cancelled = true;
    };
  }
  let waits = waiting.get(signal);
  if (waits === undefined) {
    const callbacks = new Set<() => void>();
    const fire = (): void => {
      waiting.delete(signal);
      for (const f of callbacks) f();
      callbacks.clear();
    };
    waits = { callbacks, fire };
    waiting.set(signal, waits);
    signal.addEventListener('abort', fire, { once: true });
  }
  const { callbacks, fire } = waits;
  // A wrapper per call, so the same callback registered twice is called twice, as listeners would be.
  const entry = (): void => callback();
  callbacks.add(entry);
  return () => {
    // The listener goes with the last wait, so a long-lived signal holds nothing between waits.
    if (!callbacks.delete(entry) || callbacks.size > 0 || kept.has(signal)) return;
    if (waiting.get(signal) === waits) waiting.delete(signal);
    signal.removeEventListener('abort', fire);
  };
}
