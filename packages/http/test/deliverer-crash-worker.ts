/**
 * Runs an HttpDeliverer over the log in argv[2] (dead letters in argv[3]) until it is killed; tells its
 * parent "ready" once delivery started. Used by deliverer-crash.test.ts, which SIGKILLs it mid-run.
 */
import { openLog } from '@q/log';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';

const [logDir, deadLetterDir] = process.argv.slice(2) as [string, string];
const log = await openLog({ dir: logDir });
const deliverer = new HttpDeliverer({
  log,
  deadLetterDir,
  commitIntervalMs: 5,
  maxUnfinished: 300,
  engine: {
    concurrency: 8,
    timeoutMs: 2_000,
    retry: { maxAttempts: 50, minDelayMs: 5, maxDelayMs: 50, factor: 2 },
    circuit: { failureThreshold: 1_000, openMs: 100 },
  },
});
await deliverer.start();
process.send?.('ready');
