export type { ApiDefinition, RequestContext } from './api.js';
export { Broker } from './broker.js';
export { Cluster } from './cluster.js';
export type {
  ErrorInjectionOptions,
  HookDecision,
  KafkaBrokerOptions,
  RequestHook,
  RequestInfo,
} from './cluster-options.js';
export { GroupCoordinator, type GroupState } from './group-coordinator.js';
export type { Partition } from './partition.js';
export { PartitionFile, type PartitionFileOwner } from './partition-file.js';
export { PartitionLog } from './partition-log.js';
export { crc32c } from './protocol/crc32c.js';
export { ErrorCode } from './protocol/error-codes.js';
export { MalformedRequestError, Reader } from './protocol/reader.js';
export { Writer } from './protocol/writer.js';
export { parseBatches } from './record-batch.js';
export { type SpawnedKafkaBroker, type SpawnKafkaBrokerOptions, spawnKafkaBroker } from './spawn-kafka-broker.js';
export { type KafkaTestBroker, type StartKafkaBrokerOptions, startKafkaBroker } from './start-kafka-broker.js';
