import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HttpDeliverer } from '@q/http';
import { openLog } from '@q/log';

/**
 * How the log of a "beside a down endpoint" case is made: `healthy` records spread over `endpoints`
 * URLs of the target (`<target>/e<k>`), and, when the case has a down endpoint, one record for it after
 * every `healthyPerDown` healthy ones. The same healthy records (same order, same URLs) are delivered
 * alone for the reference.
 */
export interface DownMix {
  readonly healthy: number;
  readonly endpoints: number;
  readonly healthyPerDown: number;
  /** `maxUnfinished`; undefined: the default (10,000). */
  readonly window?: number;
}

/** One endpoint of ten down: 36,000 healthy records over 9 endpoints, 4,000 to the down one. */
export const ONE_OF_TEN: DownMix = { healthy: 36_000, endpoints: 9, healthyPerDown: 9, window: 2_000 };
/** Half the log to a down endpoint, at the default window. */
export const HALF: DownMix = { healthy: 20_000, endpoints: 1, healthyPerDown: 1 };

/**
 * The healthy endpoints' records delivered per second, with (`down` set) or without the down endpoint's
 * records interleaved. Parking is on (`parkDir`, as the server runs): the down endpoint's records retry on
 * their schedule, and once the window (`maxUnfinished`) is three quarters full they are parked so that
 * reading goes on. In {@link ONE_OF_TEN} the window is 2,000 so that the down endpoint's 4,000 records
 * fill it in a run of seconds, as they fill the default 10,000 in a longer one.
 */
export async function besideDown(
  base: string,
  url: string,
  body: (n: number) => Buffer,
  mix: DownMix,
  concurrency: number,
  down: string | undefined,
): Promise<number> {
  const dir = mkdtempSync(join(base, 'down-'));
  const log = await openLog({ dir: join(dir, 'log'), sync: 'none' });
  const records: { body: Buffer; headers: Record<string, string> }[] = [];
  for (let h = 0; h < mix.healthy; h++) {
    records.push({ body: body(records.length), headers: { 'q-url': `${url}/e${h % mix.endpoints}` } });
    if (down !== undefined && (h + 1) % mix.healthyPerDown === 0) {
      records.push({ body: body(records.length), headers: { 'q-url': down } });
    }
  }
  for (let i = 0; i < records.length; i += 1000) await log.appendBatch(records.slice(i, i + 1000));
  const deliverer = new HttpDeliverer({
    log,
    deadLetterDir: join(dir, 'dead-letter'),
    parkDir: join(dir, 'park'),
    ...(mix.window === undefined ? {} : { maxUnfinished: mix.window }),
    engine: { concurrency },
  });
  let delivered = 0;
  const done = new Promise<void>((resolve) => {
    deliverer.on('delivered', () => {
      if (++delivered === mix.healthy) resolve();
    });
  });
  const t0 = performance.now();
  await deliverer.start();
  await done;
  const ms = performance.now() - t0;
  const { parked } = deliverer.stats();
  await deliverer.close({ timeoutMs: 1000 });
  await log.close();
  rmSync(dir, { recursive: true, force: true });
  // The case is about a window that needs parking to let the healthy records through.
  if (down !== undefined && parked === 0) throw new Error('beside a down endpoint: nothing was parked');
  return (mix.healthy / ms) * 1000;
}
