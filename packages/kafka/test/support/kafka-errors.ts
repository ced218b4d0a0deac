/**
 * Kafka protocol error codes the tests inject that the testkit's `ErrorCode` does not list; both are
 * non-retriable for kafkajs, so a request refused with them fails at once.
 */
export const TOPIC_AUTHORIZATION_FAILED = 29;
export const CLUSTER_AUTHORIZATION_FAILED = 31;

/** API keys the tests refuse requests of. */
export const API = { PRODUCE: 0, INIT_PRODUCER_ID: 22 } as const;
