import fc from 'fast-check';

/**
 * Runs a model test's `property` `numRuns` times from one seed: `FC_SEED` when set, else the clock. On a
 * failure it names the seed to rerun with, then rethrows (fast-check's own report carries the path).
 */
export async function assertSeeded<Ts>(
  name: string,
  property: fc.IAsyncPropertyWithHooks<Ts>,
  numRuns: number,
): Promise<void> {
  const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
  try {
    await fc.assert(property, { seed, numRuns });
  } catch (error) {
    console.error(`${name} failed: rerun with FC_SEED=${seed}`);
    throw error;
  }
}
