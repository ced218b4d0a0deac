// The options of a cluster and the shapes of its fault controls, apart from the class that uses them.

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
  /**
   * A directory to keep the cluster's data in (created when missing): topics (name, partitions,
   * configs), every partition's record batches and the groups' committed offsets are written there
   * before the request that changed them is answered, and loaded at start, so a cluster started
   * again on the same directory (after `stop()`, or a kill of its process) serves the same topics,
   * records and offsets. A tail torn by a kill is cut at load, never served. Group membership,
   * leader and coordinator moves, hooks and injected errors are not kept. One live cluster per
   * directory (a `lock` file holds the process id).
   * @default none: everything stays in memory
   */
  dataDir?: string;
  /**
   * With `dataDir`: sync appended batches, offsets and new files to the disk before answering, so
   * acknowledged data survives a power loss or a kernel crash, not only a kill of the process (the
   * page cache is enough for that). Costs one fsync per answered request that wrote something,
   * shared by the requests that wrote in the meantime.
   * @default false
   */
  fsync?: boolean;
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
