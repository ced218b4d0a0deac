export type {
  CommittedOffset,
  Compression,
  FetchedBatch,
  FetchedRecord,
  GroupConsumerClient,
  KafkaClientFactory,
  KafkaConnection,
  KafkaMessage,
  OutgoingMessage,
  ProducerClient,
  TopicPartition,
} from './client.js';
export { MessageTooLargeError, OffsetMetadataTooLargeError, WriteAbandonedError } from './errors.js';
export { KafkaPusher, type KafkaPusherMessage, type KafkaPusherOptions } from './kafka-pusher.js';
export { type KafkaHandler, KafkaQueue, type KafkaQueueConfig, type Ordering } from './kafka-queue.js';
export { kafkajsClient } from './kafkajs-client.js';
export { PartitionTracker, type TrackedMessage } from './offset-tracker.js';
