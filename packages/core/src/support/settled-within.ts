/**
 * Whether `promise` settles (either way) within `timeoutMs`; `true` when there is none. For bounded
 * waits on work that may never answer (a silent server): the caller goes on either way, and the
 * timer is unref'd and cleared, so it never keeps a process alive.
 */
export async function settledWithin(promise: PromiseLike<unknown> | undefined, timeoutMs: number): Promise<boolean> {
  if (promise === undefined) return true;
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
