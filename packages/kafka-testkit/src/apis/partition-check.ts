import type { RequestContext } from '../api.js';
import type { Partition } from '../partition.js';
import { ErrorCode } from '../protocol/error-codes.js';

/**
 * The partition a data request names, or (a number) the error Kafka would give: an injected one, unknown
 * topic or partition (after auto-creation, when allowed and `autoCreate`), or not the leader here.
 */
export function leaderPartition(
  ctx: RequestContext,
  topic: string,
  index: number,
  autoCreate: boolean,
): Partition | number {
  const injected = ctx.cluster.takeInjectedError(ctx.apiKey, topic, index);
  if (injected !== 0) return injected;
  if (!ctx.cluster.topics.has(topic) && autoCreate && ctx.cluster.autoCreateTopics) ctx.cluster.createTopic(topic);
  const partition = ctx.cluster.partition(topic, index);
  if (partition === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  if (partition.leader !== ctx.broker.id) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  return partition;
}

/** NOT_COORDINATOR unless this broker coordinates the group; an injected error first. */
export function coordinatorError(ctx: RequestContext, group: string): number {
  const injected = ctx.cluster.takeInjectedError(ctx.apiKey, undefined, undefined);
  if (injected !== 0) return injected;
  return ctx.cluster.coordinatorOf(group) === ctx.broker.id ? 0 : ErrorCode.NOT_COORDINATOR;
}
