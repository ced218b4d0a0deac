import { MAX_TIMER_MS } from './validate.js';

/**
 * Whether `promise` settles (either way) within `timeoutMs`; `true` when there is none. For bounded
 * waits on work that may never answer (a silent server): the caller goes on either way, and the
 * timer is unref'd and cleared, so it never keeps a process alive. A `timeoutMs` beyond what a timer
 * holds (`Infinity`) waits for the promise: Node would fire such a timer after 1 ms.
 */
export async function settledWithin(promise: PromiseLike<unknown> | undefined, timeoutMs: number): Promise<boolean> {
  if (promise === undefined) return true;
  if (timeoutMs > MAX_TIMER_MS) {
    await Promise.resolve(promise).then(
      () => {},
      () => {},
    );
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs));
    timer.unref();
  });
  try {
    return await Promise.race([
      Promise.resolve(promise).then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
