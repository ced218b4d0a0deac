/**
 * Runs an HttpDeliverer with parking over the log in argv[2] (dead letters in argv[3], park log in argv[4])
 * until it is killed; tells its parent "ready" once delivery started, then its `parked` count and its
 * `readAhead` (what a crash would send again) every 5 ms.
 * Used by park-crash.test.ts, which SIGKILLs it while it parks.
 */
import { openLog } from '@q/log';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';

const [logDir, deadLetterDir, parkDir] = process.argv.slice(2) as [string, string, string];
const log = await openLog({ dir: logDir });
const deliverer = new HttpDeliverer({
  log,
  deadLetterDir,
  parkDir,
  commitIntervalMs: 5,
  maxUnfinished: 100,
  engine: {
    concurrency: 8,
    timeoutMs: 2_000,
    retry: { maxAttempts: 1_000_000, minDelayMs: 20, maxDelayMs: 100, factor: 2, maxAgeMs: 3_600_000 },
    circuit: { failureThreshold: 1_000_000, openMs: 100 },
  },
});
await deliverer.start();
process.send?.('ready');
setInterval(() => {
  const { parked, readAhead } = deliverer.stats();
  process.send?.({ parked, readAhead });
}, 5);
