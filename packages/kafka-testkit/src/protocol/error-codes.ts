/** The Kafka error codes the broker uses (protocol guide, "Error Codes"). */
export const ErrorCode = {
  /** No error. */
  NONE: 0,
  /** The fetch offset is outside the log. */
  OFFSET_OUT_OF_RANGE: 1,
  /** A record batch failed its CRC or layout checks. */
  CORRUPT_MESSAGE: 2,
  /** The topic or partition does not exist. */
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  /** The partition has no leader right now (its broker is down). */
  LEADER_NOT_AVAILABLE: 5,
  /** The request went to a broker that does not lead the partition. */
  NOT_LEADER_OR_FOLLOWER: 6,
  /** The request did not complete in its timeout. */
  REQUEST_TIMED_OUT: 7,
  /** A record batch is larger than the broker accepts. */
  MESSAGE_TOO_LARGE: 10,
  /** The group coordinator is not available. */
  COORDINATOR_NOT_AVAILABLE: 15,
  /** The request went to a broker that does not coordinate the group. */
  NOT_COORDINATOR: 16,
  /** The topic name is not valid. */
  INVALID_TOPIC_EXCEPTION: 17,
  /** A Produce request is larger than the broker accepts. */
  RECORD_LIST_TOO_LARGE: 18,
  /** The member's generation is not the group's current one. */
  ILLEGAL_GENERATION: 22,
  /** The member's protocol type differs from the group's. */
  INCONSISTENT_GROUP_PROTOCOL: 23,
  /** The group id is empty. */
  INVALID_GROUP_ID: 24,
  /** The member is not in the group (its session expired, or it left). */
  UNKNOWN_MEMBER_ID: 25,
  /** The session timeout is outside the broker's bounds. */
  INVALID_SESSION_TIMEOUT: 26,
  /** The group is rebalancing: the member must rejoin. */
  REBALANCE_IN_PROGRESS: 27,
  /** The commit metadata is too large. */
  INVALID_COMMIT_OFFSET_SIZE: 28,
  /** The API version is not supported. */
  UNSUPPORTED_VERSION: 35,
  /** CreateTopics named a topic that exists. */
  TOPIC_ALREADY_EXISTS: 36,
  /** The partition count is not valid. */
  INVALID_PARTITIONS: 37,
  /** The replication factor is not valid. */
  INVALID_REPLICATION_FACTOR: 38,
  /** The request is malformed or not allowed. */
  INVALID_REQUEST: 42,
  /** An idempotent producer's batch skips sequence numbers. */
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  /** An idempotent producer's batch was written already. */
  DUPLICATE_SEQUENCE_NUMBER: 46,
  /** The producer's epoch is older than the current one. */
  INVALID_PRODUCER_EPOCH: 47,
  /** The broker has no state for this producer id. */
  UNKNOWN_PRODUCER_ID: 59,
  /** The group does not exist. */
  GROUP_ID_NOT_FOUND: 69,
  /** An unexpected server error. */
  UNKNOWN_SERVER_ERROR: -1,
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];
