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
    const aborted = (): void => {
      try {
        resolve(onAbort());
      } catch (error) {
        reject(error);
      }
    };
    signal.addEventListener('abort', aborted, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', aborted);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', aborted);
        reject(error);
      },
    );
  });
}
