import type { GroupCoordinator } from './group-coordinator.js';
import type { Partition } from './partition.js';

// Handlers get the cluster through these interfaces rather than the `Cluster` class: the class holds
// the registration table (apis/index.ts), so typing handlers against it would make every API module
// depend on its own registry. This module must stay free of imports of cluster.ts, broker.ts and api.ts.

/** A broker as a handler sees it: where it listens and whether it does. */
export interface BrokerView {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  /** True while it listens (false between `stop()` and `start()`). */
  readonly up: boolean;
}

/**
 * What an API handler reads and changes of the cluster: topics and leaders, brokers, groups, producer
 * ids and injected errors. `Cluster` implements it; at run time `ctx.cluster` is that Cluster.
 */
export interface ClusterView {
  readonly clusterId: string;
  readonly topics: ReadonlyMap<string, Partition[]>;
  readonly groups: GroupCoordinator;
  readonly autoCreateTopics: boolean;
  readonly defaultPartitions: number;
  /** ApiVersions' table: per implemented key, min 0 and max as advertised. */
  advertised(): { key: number; min: number; max: number }[];
  /** Brokers that are listening. */
  liveBrokers(): BrokerView[];
  /** The controller: the first live broker, -1 when none is. */
  controllerId(): number;
  /** A broker by id, up or not. */
  broker(id: number): BrokerView | undefined;
  /** Creates a topic with leaders spread over the brokers (and its configs, kept). Returns false if it exists. */
  createTopic(name: string, partitions?: number, configs?: Readonly<Record<string, string | null>>): boolean;
  /** A partition by topic and index. */
  partition(topic: string, index: number): Partition | undefined;
  /** The leader to report for a partition, -1 while its broker is down. */
  leaderOf(p: Partition): number;
  /** The broker coordinating a group, -1 when no broker is up. */
  coordinatorOf(group: string): number;
  /** A fresh idempotent producer id. */
  nextProducerId(): bigint;
  /** The injected error for this request (and topic/partition), consuming one use; 0 when none. */
  takeInjectedError(apiKey: number, topic?: string, partition?: number): number;
}
