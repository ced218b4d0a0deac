export { abortable } from './abortable.js';
export { backoffDelay, type RetryOptions, type RetryPolicy, retryPolicy, sleep } from './backoff.js';
export { BalancedPusher, type BalancedPusherOptions } from './balanced-pusher.js';
export { BulkExecutor, type BulkExecutorOptions, type Execute } from './bulk-executor.js';
export { Channel, CLOSED, EMPTY } from './channel.js';
export { ChunkExecutor, type ChunkExecutorOptions } from './chunk-executor.js';
export { type Clock, ManualClock, systemClock, type TimerHandle } from './clock.js';
export type { ConsumeContext, Consumer, ConsumerFactory } from './consumer.js';
export { DelayExecutor, type DelayExecutorOptions } from './delay-executor.js';
export { Deque } from './deque.js';
export {
  ChannelClosedError,
  ExecutorClosedError,
  HandlerTimeoutError,
  InvalidOptionError,
  MultiPushError,
  NoAvailablePusherError,
  QueueError,
  QueueStateError,
} from './errors.js';
export { LatencyHistogram, type LatencySummary } from './latency-histogram.js';
export { LessExecutor } from './less-executor.js';
export type { Listener } from './listener.js';
export { consoleLogger, type Logger, silentLogger } from './logger.js';
export { MultiPusher } from './multi-pusher.js';
export { CONSUMED, isSettleable, type Outcome, type SettleableMessage } from './outcome.js';
export type { Reclaimed } from './parked-sender.js';
export { type ExecutorOptions, PeriodicalExecutor } from './periodical-executor.js';
export type { Produced, ProduceListener, Producer, ProducerFactory } from './producer.js';
export { type ConfirmingPusher, isConfirmingPusher, type Pusher, type PushInfo } from './pusher.js';
export { Queue } from './queue.js';
export type { QueueErrorInfo, QueueErrorStage, QueueEvents, StopOptions } from './queue-events.js';
export { MAX_LOOPS, type QueueOptions } from './queue-options.js';
export { type ShutdownInstallOptions, type ShutdownListener, ShutdownManager } from './shutdown-manager.js';
export type { QueueState, QueueStats, QueueStatsReport } from './stats.js';
export { hasTasks, type TaskContainer } from './task-container.js';
export { generateName } from './util.js';
export { duration, integerAtLeast, nonEmptyString } from './validate.js';
export { Waker } from './waker.js';
