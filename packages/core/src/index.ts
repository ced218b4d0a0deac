/**
 * The public API of `@q/core`. Helpers the adapters share (validation, `Deque`, `Waker`,
 * `abortable`) are in `@q/core/internal`, outside semver.
 */

export { Channel, CLOSED, EMPTY } from './channel/channel.js';
export type { Reclaimed } from './channel/parked-sender.js';
export { BulkExecutor, type BulkExecutorOptions, type Execute } from './executors/bulk-executor.js';
export { ChunkExecutor, type ChunkExecutorOptions } from './executors/chunk-executor.js';
export { ConfirmAbortedError } from './executors/confirm-aborted-error.js';
export { DelayExecutor, type DelayExecutorOptions } from './executors/delay-executor.js';
export { LessExecutor } from './executors/less-executor.js';
export { type ConfirmOptions, type ExecutorOptions, PeriodicalExecutor } from './executors/periodical-executor.js';
export { type ShutdownInstallOptions, type ShutdownListener, ShutdownManager } from './executors/shutdown-manager.js';
export { hasTasks, type TaskContainer } from './executors/task-container.js';
export { BalancedPusher, type BalancedPusherOptions } from './pushers/balanced-pusher.js';
export { MultiPusher } from './pushers/multi-pusher.js';
export {
  formatOutboxId,
  isOutboxName,
  OUTBOX_ID_HEADER,
  type OutboxId,
  parseOutboxId,
} from './pushers/outbox-id.js';
export {
  type ConfirmingPusher,
  isConfirmingPusher,
  type Pusher,
  type PushInfo,
  pushConfirmed,
} from './pushers/pusher.js';
export type { ConsumeContext, Consumer, ConsumerFactory } from './queue/consumer.js';
export type { QueueErrorInfo, QueueErrorStage, QueueEvents, StopOptions } from './queue/events.js';
export { fromIterable } from './queue/iterable-producer.js';
export type { Listener } from './queue/listener.js';
export { MAX_LOOPS, type QueueOptions } from './queue/options.js';
export { CONSUMED, isSettleable, type Outcome, type SettleableMessage } from './queue/outcome.js';
export { NO_MORE, type Produced, type ProduceListener, type Producer, type ProducerFactory } from './queue/producer.js';
export { Queue } from './queue/queue.js';
export type { QueueState, QueueStats, QueueStatsReport } from './queue/stats.js';
export {
  addDeath,
  causeText,
  DEATH_HEADER,
  DEATH_REASONS,
  type DeathFact,
  type DeathReason,
  type DeathRecord,
  readDeaths,
  writeDeaths,
} from './semantics/death-record.js';
export { EXPIRES_AT_HEADER, expiresAt, isExpired, ttlOption } from './semantics/expiry.js';
export {
  ConfirmUnknownError,
  PublishRejectedError,
  UnroutableError,
  UnsupportedFeatureError,
} from './semantics/semantic-errors.js';
export { backoffDelay, type RetryOptions, type RetryPolicy, retryPolicy, sleep } from './support/backoff.js';
export { type Clock, ManualClock, systemClock, type TimerHandle } from './support/clock.js';
export {
  ChannelClosedError,
  ExecutorClosedError,
  HandlerTimeoutError,
  InvalidOptionError,
  MultiPushError,
  NoAvailablePusherError,
  QueueError,
  QueueStateError,
} from './support/errors.js';
export type { LatencyBuckets, LatencySummary } from './support/latency-histogram.js';
export { consoleLogger, type Logger, silentLogger } from './support/logger.js';
