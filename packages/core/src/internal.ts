/**
 * `@q/core/internal`: building blocks the `@q/*` adapters share. Not covered by semver: anything here
 * may change or go in a minor release. Applications use `@q/core`.
 * @packageDocumentation
 */
export { Deque } from './channel/deque.js';
export { Waker } from './channel/waker.js';
export { type KnownOutboxId, OUTBOX_ID, outboxIdOf } from './pushers/outbox-id.js';
export { abortable, keepListening, whenAborted } from './support/abortable.js';
export { HttpError } from './support/http-error.js';
export { type HttpErrorReply, type RouteSpec, routeMiss, sendHttpError } from './support/http-route-answers.js';
export { jsonLogger, LOG_LEVELS, type LogLevel } from './support/json-logger.js';
export { LatencyHistogram } from './support/latency-histogram.js';
export { safeLogger } from './support/logger.js';
export { OrderedCommits, type OrderedEntry } from './support/ordered-commits.js';
export { promiseInto, type Settles } from './support/promise-into.js';
export {
  type CommandIo,
  closeOnSignal,
  countOption,
  logLevelOption,
  portOption,
  requiredOption,
  runServeCommand,
  type ServeCommand,
  UsageError,
} from './support/serve-command.js';
export { settledWithin } from './support/settled-within.js';
export { listenOnSocket } from './support/unix-socket.js';
export { generateName } from './support/util.js';
export { duration, integerAtLeast, MAX_TIMER_MS, nonEmptyString } from './support/validate.js';
