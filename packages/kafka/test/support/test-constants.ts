/** A logger that drops everything: the tests assert on behaviour, not on log lines. */
export const silent = { error() {}, warn() {}, info() {}, debug() {} };

/** Kafka's JoinGroup API key, for counting or holding joins at the test broker. */
export const JOIN_GROUP = 11;

/** Group timings short enough that joins and rebalances take a test well under a second. */
export const fastGroup = { sessionTimeoutMs: 3000, rebalanceTimeoutMs: 3000, heartbeatIntervalMs: 100 };
