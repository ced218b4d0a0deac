/**
 * Review F worker: an HttpDeliverer with parking over the log in argv[2] (dead letters argv[3], park log
 * argv[4]), run under a file-size limit (`ulimit -f`) set by its parent, so a park append that grows the
 * park segment past it fails with EFBIG: @q/log then stops the park log for good (LogSyncError, "reopen
 * the log"). Sends its stats and the messages of its errors to the parent every 50 ms.
 */
import { silentLogger } from '@q/core';
import { openLog } from '@q/log';
import { HttpDeliverer } from '../src/deliverer/http-deliverer.js';
import { fixedRetryEngine } from './review-f-support.js';

const [logDir, deadLetterDir, parkDir] = process.argv.slice(2) as [string, string, string];
const log = await openLog({ dir: logDir });
const errors: string[] = [];
const deliverer = new HttpDeliverer({
  log,
  deadLetterDir,
  parkDir,
  maxUnfinished: 4,
  commitIntervalMs: 10,
  logger: silentLogger,
  engine: fixedRetryEngine(1_500),
});
deliverer.on('error', (err: Error) => {
  if (errors.length < 50) errors.push(`${err.name}: ${err.message}`);
});
await deliverer.start();
process.send?.('ready');
setInterval(() => {
  const { state, cursor, parked, parkedBacklog, unfinished, delivered } = deliverer.stats();
  process.send?.({ state, cursor, parked, parkedBacklog, unfinished, delivered, errors });
}, 50);
