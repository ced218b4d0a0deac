import type { ApiDefinition } from './api.js';
import { APIS } from './apis/index.js';
import { Broker } from './broker.js';
import type { BrokerHost } from './broker-host.js';
import type { ErrorInjectionOptions, KafkaBrokerOptions, RequestHook, RequestInfo } from './cluster-options.js';
import type { BrokerView } from './cluster-view.js';
import { checkDataDirOptions, DataDir, type StoredOffsets, type StoredTopic } from './data-dir.js';
import { GroupCoordinator } from './group-coordinator.js';
import type { Partition } from './partition.js';
import { PartitionLog } from './partition-log.js';

interface Injection {
  readonly apiKey: number;
  readonly topic: string | undefined;
  readonly partition: number | undefined;
  readonly errorCode: number;
  remaining: number;
}

/**
 * The state of a test Kafka cluster: brokers, topics, partition logs, groups and committed offsets,
 * idempotent producer ids, and the fault controls. Survives broker restarts.
 */
export class Cluster implements BrokerHost {
  /** The brokers, by id. */
  readonly brokers: Broker[] = [];
  /** The topics and their partitions, by name. */
  readonly topics = new Map<string, Partition[]>();
  /** The group coordinator, shared by every broker. */
  readonly groups: GroupCoordinator;
  /** Whether unknown topics are created on Metadata or Produce. */
  readonly autoCreateTopics: boolean;
  /** Partitions of topics created without a count. */
  readonly defaultPartitions: number;
  /** The cluster id that Metadata answers. */
  readonly clusterId = 'q-kafka-testkit';
  readonly #apis = new Map<number, ApiDefinition>();
  readonly #maxVersions: Record<number, number>;
  readonly #hooks = new Set<RequestHook>();
  readonly #injections: Injection[] = [];
  readonly #log: (line: string) => void;
  #nextProducerId = 1000n;
  #topicCount = 0;
  /** Groups pinned to a coordinator by {@link Cluster.moveCoordinator}: group id to broker id. */
  readonly coordinators = new Map<string, number>();
  /** Topic configs as CreateTopics gave them, by topic (kept, and written with `dataDir`; not interpreted). */
  readonly topicConfigs = new Map<string, Readonly<Record<string, string | null>>>();
  readonly #dataDir: DataDir | undefined;
  /** Groups that committed offsets (what `offsets.json` lists). */
  readonly #committedGroups = new Set<string>();

  /**
   * Builds the brokers (not yet listening) and, with `dataDir`, loads what the directory holds.
   * @throws {TypeError} when `dataDir` is not a non-empty string, or `fsync` not a boolean or set without `dataDir`.
   * @throws {Error} when the directory is in use by another live cluster, or cannot be read or written.
   */
  constructor(options: KafkaBrokerOptions) {
    const { dataDir, fsync } = options;
    checkDataDirOptions(dataDir, fsync);
    this.autoCreateTopics = options.autoCreateTopics ?? true;
    this.defaultPartitions = options.defaultPartitions ?? 1;
    this.#maxVersions = options.maxVersions ?? {};
    this.#log = options.log ?? (() => {});
    for (const api of APIS) this.#apis.set(api.key, api);
    const host = options.host ?? '127.0.0.1';
    const count = options.brokers ?? 1;
    for (let id = 0; id < count; id++) this.brokers.push(new Broker(this, id, host, options.ports?.[id] ?? 0));
    this.groups = new GroupCoordinator(this, options.sessionTimeout?.min ?? 10, options.sessionTimeout?.max ?? 300_000);
    if (dataDir !== undefined)
      this.#dataDir = this.#load(
        new DataDir(dataDir, {
          fsync: fsync ?? false,
          log: this.#log,
          offsets: () => storedOffsets(this.groups, this.#committedGroups),
        }),
      );
  }

  /** Loads topics, their logs and committed offsets from `dir`; returns it. */
  #load(dir: DataDir): DataDir {
    let maxProducerId = -1n;
    for (const t of dir.loadTopics()) {
      for (const p of this.#addTopic(t.name, t.partitions, t.configs, dir)) {
        if (p.log.loadedMaxProducerId > maxProducerId) maxProducerId = p.log.loadedMaxProducerId;
      }
    }
    // Ids already in the logs must not be handed out again: their sequences are known.
    if (maxProducerId >= this.#nextProducerId) this.#nextProducerId = maxProducerId + 1n;
    for (const [group, offsets] of Object.entries(dir.loadOffsets())) {
      const restored = offsets.map((o) => ({ ...o, offset: BigInt(o.offset) }));
      // A simple commit (no generation): the group is empty after a restart.
      this.groups.commit(group, -1, '', restored);
    }
    return dir;
  }

  /** @internal Told by the group coordinator: the group's offsets must be written. */
  offsetsCommitted(groupId: string): void {
    this.#committedGroups.add(groupId);
    this.#dataDir?.offsetsChanged();
  }

  /**
   * @internal Undefined when everything done so far is stored (always without `dataDir`); otherwise
   * what settles once it is. The brokers wait for it before answering.
   */
  durable(): Promise<void> | undefined {
    return this.#dataDir?.durable();
  }

  /** Cancels the groups' timers and, with `dataDir`, writes what is pending and closes the files. */
  async close(): Promise<void> {
    this.groups.close();
    await this.#dataDir?.close();
  }

  /** The handler of an API key, if implemented. */
  api(key: number): ApiDefinition | undefined {
    return this.#apis.get(key);
  }

  /** ApiVersions' table: min 0 (librdkafka needs overlapping ranges), max = implemented, capped. */
  advertised(): {
    /** The API key. */
    key: number;
    /** Lowest version advertised. */
    min: number;
    /** Highest version advertised. */
    max: number;
  }[] {
    return [...this.#apis.values()]
      .map((a) => ({ key: a.key, min: 0, max: Math.min(a.maxVersion, this.#maxVersions[a.key] ?? a.maxVersion) }))
      .sort((a, b) => a.key - b.key);
  }

  log(line: string): void {
    this.#log(line);
  }

  /** Brokers that are listening. */
  liveBrokers(): Broker[] {
    return this.brokers.filter((b) => b.up);
  }

  /** The controller: the first live broker. */
  controllerId(): number {
    return this.liveBrokers()[0]?.id ?? -1;
  }

  broker(id: number): Broker | undefined {
    return this.brokers[id];
  }

  // -------------------------------------------------------------------------------------------
  // Topics

  /**
   * Creates a topic with leaders spread over the brokers. Returns false if it exists. With `dataDir`
   * it is written to `topics.json` before this returns.
   */
  createTopic(
    name: string,
    partitions = this.defaultPartitions,
    configs: Readonly<Record<string, string | null>> = {},
  ): boolean {
    if (this.topics.has(name)) return false;
    const dir = this.#dataDir;
    if (dir !== undefined) {
      const stored: StoredTopic[] = [...this.topics].map(([n, list]) => ({
        name: n,
        partitions: list.length,
        configs: this.topicConfigs.get(n) ?? {},
      }));
      dir.saveTopics([...stored, { name, partitions, configs }]);
    }
    this.#addTopic(name, partitions, configs, dir);
    return true;
  }

  #addTopic(
    name: string,
    partitions: number,
    configs: Readonly<Record<string, string | null>>,
    dir: DataDir | undefined,
  ): Partition[] {
    const offset = this.#topicCount++;
    const list: Partition[] = [];
    for (let i = 0; i < partitions; i++) {
      const log = new PartitionLog(dir?.partitionFile(name, i));
      list.push({ topic: name, index: i, leader: (i + offset) % this.brokers.length, log });
    }
    this.topics.set(name, list);
    this.topicConfigs.set(name, configs);
    return list;
  }

  partition(topic: string, index: number): Partition | undefined {
    return this.topics.get(topic)?.[index];
  }

  /** The leader to report: the assigned one, or a live stand-in while it is down. */
  leaderOf(p: Partition): number {
    if (this.brokers[p.leader]?.up) return p.leader;
    return -1;
  }

  /** Moves a partition's leadership (clients get NOT_LEADER_OR_FOLLOWER and refresh metadata). */
  moveLeader(topic: string, index: number, brokerId: number): void {
    const p = this.partition(topic, index);
    if (p === undefined) throw new Error(`no partition ${topic}/${index}`);
    if (this.brokers[brokerId] === undefined) throw new Error(`no broker ${brokerId}`);
    p.leader = brokerId;
  }

  /** The broker coordinating a group: pinned by {@link Cluster.moveCoordinator}, else a hash over live brokers. */
  coordinatorOf(group: string): number {
    const pinned = this.coordinators.get(group);
    if (pinned !== undefined && this.brokers[pinned]?.up) return pinned;
    const live = this.liveBrokers();
    if (live.length === 0) return -1;
    let h = 0;
    for (let i = 0; i < group.length; i++) h = (h * 31 + group.charCodeAt(i)) | 0;
    return (live[Math.abs(h) % live.length] as Broker).id;
  }

  /** Makes `brokerId` the coordinator of `group` (while that broker is up), as a coordinator move does. */
  moveCoordinator(group: string, brokerId: number): void {
    this.coordinators.set(group, brokerId);
  }

  nextProducerId(): bigint {
    return this.#nextProducerId++;
  }

  // -------------------------------------------------------------------------------------------
  // Faults

  /** Adds a hook that sees every request; returns its remover. */
  onRequest(hook: RequestHook): () => void {
    this.#hooks.add(hook);
    return () => this.#hooks.delete(hook);
  }

  /**
   * Makes requests of `apiKey` (or all, when undefined) fail with `errorCode` — for the given topic
   * and partition only, when given — `times` times (Infinity: until removed). Returns its remover.
   */
  injectError(options: ErrorInjectionOptions): () => void {
    const injection: Injection = {
      apiKey: options.apiKey,
      topic: options.topic,
      partition: options.partition,
      errorCode: options.errorCode,
      remaining: options.times ?? 1,
    };
    this.#injections.push(injection);
    return () => {
      injection.remaining = 0;
    };
  }

  /** The injected error for this request (and topic/partition), consuming one use; 0 when none. */
  takeInjectedError(apiKey: number, topic?: string, partition?: number): number {
    for (const i of this.#injections) {
      if (i.remaining <= 0 || i.apiKey !== apiKey) continue;
      if (i.topic !== undefined && i.topic !== topic) continue;
      if (i.partition !== undefined && i.partition !== partition) continue;
      i.remaining--;
      return i.errorCode;
    }
    return 0;
  }

  /** @internal Runs the hooks; waits out delays; returns the strongest action. */
  async faultFor(
    broker: BrokerView,
    request: { apiKey: number; version: number; clientId: string | null; body: Buffer },
    signal: AbortSignal,
  ): Promise<'close' | 'close-mid-response' | 'black-hole' | undefined> {
    let delayMs = 0;
    let action: 'close' | 'close-mid-response' | 'black-hole' | undefined;
    if (this.#hooks.size === 0) return undefined;
    const info: RequestInfo = {
      brokerId: broker.id,
      apiName: this.#apis.get(request.apiKey)?.name ?? String(request.apiKey),
      ...request,
    };
    for (const hook of this.#hooks) {
      const d = hook(info);
      if (d === undefined) continue;
      delayMs = Math.max(delayMs, d.delayMs ?? 0);
      action = d.action ?? action;
    }
    if (delayMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delayMs);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
    }
    return signal.aborted ? 'close' : action;
  }
}

/** The committed offsets of `groups`, as `offsets.json` keeps them. */
function storedOffsets(groups: GroupCoordinator, ids: Iterable<string>): StoredOffsets {
  const out: StoredOffsets = {};
  for (const group of ids) {
    out[group] = groups
      .committedAll(group)
      .map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset), metadata: o.metadata }));
  }
  return out;
}
