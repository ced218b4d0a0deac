/** Helpers shared by every package's tests. */

/** Resolves after `ms` milliseconds. */
export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until `predicate()` holds (it may be async), polling every few milliseconds; fails after
 * `timeoutMs` naming `what`.
 */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

/** How `promise` ended within `ms`: 'resolved', 'rejected: <message>' or 'pending'. */
export async function outcomeWithin(promise: PromiseLike<unknown>, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    Promise.resolve(promise).then(
      () => 'resolved',
      (error: unknown) => `rejected: ${error instanceof Error ? error.message : String(error)}`,
    ),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('pending'), ms);
    }),
  ]);
  clearTimeout(timer);
  return result;
}
