export type { ApiDefinition, RequestContext } from './api.js';
export { Broker } from './broker.js';
export {
  Cluster,
  type ErrorInjectionOptions,
  type HookDecision,
  type KafkaBrokerOptions,
  type RequestHook,
  type RequestInfo,
} from './cluster.js';
export { GroupCoordinator, type GroupState } from './group-coordinator.js';
export type { Partition } from './partition.js';
export { PartitionLog } from './partition-log.js';
export { crc32c } from './protocol/crc32c.js';
export { ErrorCode } from './protocol/error-codes.js';
export { MalformedRequestError, Reader } from './protocol/reader.js';
export { Writer } from './protocol/writer.js';
export { parseBatches } from './record-batch.js';
export { type SpawnedKafkaBroker, type SpawnKafkaBrokerOptions, spawnKafkaBroker } from './spawn-kafka-broker.js';
export { type KafkaTestBroker, type StartKafkaBrokerOptions, startKafkaBroker } from './start-kafka-broker.js';
