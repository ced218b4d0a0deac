import type { ApiDefinition } from './api.js';
import { APIS } from './apis/index.js';
import { Broker } from './broker.js';
import type { BrokerHost } from './broker-host.js';
import type { BrokerView } from './cluster-view.js';
import { GroupCoordinator } from './group-coordinator.js';
import type { Partition } from './partition.js';
import { PartitionLog } from './partition-log.js';

/** What a request hook sees. */
export interface RequestInfo {
  /** The broker the request came to. */
  readonly brokerId: number;
  /** The request's API key. */
  readonly apiKey: number;
  /** The API's name (`Fetch`, `JoinGroup`, ...). */
  readonly apiName: string;
  /** The request's API version. */
  readonly version: number;
  /** The client id of the request header; `null` when the client sent none. */
  readonly clientId: string | null;
  /** The request body after the header; decode it with {@link Reader} to assert on fields. */
  readonly body: Buffer;
}

/** What a request hook may decide. `undefined`: go on as usual. */
export type HookDecision =
  | undefined
  | {
      /** Waits this long (milliseconds) before handling the request. */
      delayMs?: number;
      /**
       * `close`: closes the connection instead of answering; `close-mid-response`: handles the
       * request, writes half the response and closes; `black-hole`: never answers (the connection
       * stays open).
       */
      action?: 'close' | 'close-mid-response' | 'black-hole';
    };

/** A hook that sees every request before it is handled (kfake's `ControlKey`). */
export type RequestHook = (request: RequestInfo) => HookDecision;

/** Options of {@link startKafkaBroker}. */
export interface KafkaBrokerOptions {
  /**
   * Number of brokers in the cluster.
   * @default 1
   */
  brokers?: number;
  /** Topics to create at start: names (with `defaultPartitions`) or `{ name, partitions }`. */
  topics?: (
    | string
    | {
        /** The topic's name. */
        name: string;
        /** Its number of partitions. */
        partitions: number;
      }
  )[];
  /**
   * Partitions of topics created without a count (auto-created or listed by name).
   * @default 1
   */
  defaultPartitions?: number;
  /**
   * Create unknown topics on Metadata or Produce, as Kafka's `auto.create.topics.enable`.
   * @default true
   */
  autoCreateTopics?: boolean;
  /**
   * Address to listen on. Only loopback is meant to be used.
   * @default "127.0.0.1"
   */
  host?: string;
  /** Ports per broker; 0 or missing picks a free one. Kept across restarts. */
  ports?: number[];
  /**
   * Highest version advertised per API key, below what is implemented (kfake's `MaxVersions`).
   */
  maxVersions?: Record<number, number>;
  /**
   * Bounds for group session timeouts, in milliseconds.
   * @default { min: 10, max: 300000 }
   */
  sessionTimeout?: {
    /** Shortest session timeout a member may ask for. @default 10 */
    min?: number;
    /** Longest session timeout a member may ask for. @default 300000 */
    max?: number;
  };
  /** Told about protocol problems (malformed requests and the like). */
  log?: (line: string) => void;
}

/** An error to inject: for `apiKey`, optionally one topic and partition, `times` times (default once). */
export interface ErrorInjectionOptions {
  /** The API key whose responses carry the error. */
  readonly apiKey: number;
  /** The Kafka error code to answer with (see {@link ErrorCode}). */
  readonly errorCode: number;
  /** Only for this topic. @default every topic */
  readonly topic?: string;
  /** Only for this partition. @default every partition */
  readonly partition?: number;
  /** How many responses carry it (`Infinity`: until removed). @default 1 */
  readonly times?: number;
}

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

  constructor(options: KafkaBrokerOptions) {
    this.autoCreateTopics = options.autoCreateTopics ?? true;
    this.defaultPartitions = options.defaultPartitions ?? 1;
    this.#maxVersions = options.maxVersions ?? {};
    this.#log = options.log ?? (() => {});
    for (const api of APIS) this.#apis.set(api.key, api);
    const host = options.host ?? '127.0.0.1';
    const count = options.brokers ?? 1;
    for (let id = 0; id < count; id++) this.brokers.push(new Broker(this, id, host, options.ports?.[id] ?? 0));
    this.groups = new GroupCoordinator(this, options.sessionTimeout?.min ?? 10, options.sessionTimeout?.max ?? 300_000);
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

  /** Creates a topic with leaders spread over the brokers. Returns false if it exists. */
  createTopic(name: string, partitions = this.defaultPartitions): boolean {
    if (this.topics.has(name)) return false;
    const offset = this.#topicCount++;
    const list: Partition[] = [];
    for (let i = 0; i < partitions; i++) {
      list.push({ topic: name, index: i, leader: (i + offset) % this.brokers.length, log: new PartitionLog() });
    }
    this.topics.set(name, list);
    return true;
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
