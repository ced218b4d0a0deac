/**
 * Which measured cases each ratio of bench/results/<suite>.json compares, for the charts. A ratio's
 * name says it in words ("batch path / fastq"); the case names are longer and differ per suite, so
 * the pairing is written down here. bench/svg-chart.test.ts fails when a suite's ratios or cases
 * change and this table was not updated.
 */

/** One side of a ratio: a case of the suite and which of its numbers. */
export interface BarSource {
  case: string;
  /** @default 'messagesPerSecond' */
  field?: string;
  /** Shown instead of the case name. @default the case name */
  label?: string;
}

/** The two sides of a ratio, or one side measured against its target alone (`peer` absent). */
export interface Pairing {
  ours: BarSource;
  peer?: BarSource;
}

/** Units of the numbers a case carries; a suite may name its `messagesPerSecond` differently. */
export const UNITS: Record<string, string> = {
  messagesPerSecond: 'msg/s',
  peakRssMiB: 'MiB peak RSS',
  brokerCpuSecondsPerMillion: 'CPU s / 1M msg',
  clientCpuSecondsPerMillion: 'CPU s / 1M msg',
  megabytesPerSecond: 'MB/s',
};

/** Per suite, a unit for `messagesPerSecond` other than msg/s. */
export const RATE_UNIT: Record<string, string> = { executors: 'adds/s', log: 'records/s' };

const c = (name: string, extra: Omit<BarSource, 'case'> = {}): BarSource => ({ case: name, ...extra });

const core = {
  batch: c('queue batch path'),
  batchChannel: c('hand-written batch channel (arrays of 256)'),
  single: c('queue one-at-a-time path'),
  promiseChannel: c('hand-written channel, one promise per message'),
  keyedBatch: c('queue keyed batch path (1,000 keys)'),
  keyedSingle: c('queue keyed one-at-a-time path (1,000 keys)'),
  fastq: c('fastq (callback API, concurrency 8)'),
};

const kafka = {
  partition: c('KafkaQueue, partition mode (ordered commits)'),
  key: c('KafkaQueue, key mode (ordered commits)'),
  eachBatch: c('raw kafkajs eachBatch (8 partitions)'),
  eachMessage: c('raw kafkajs eachMessage (8 partitions)'),
};

const executors = {
  chunk: c('ChunkExecutor add (1 MiB chunks)'),
  bulk: c('BulkExecutor add (1,000 tasks)'),
};

const producer = 'kafkajs producer, batches of 1,000 x 100 B, acks -1, 4 in flight';
const consumer = 'kafkajs consumer, eachBatch';
const redisAtMostOnce = c('ours: at-most-once Queue end to end');
const bullmq = c('BullMQ, concurrency 50, no-op processor (200,000)');

/** @q/log's cases (bench/log.ts) by their names' parts. */
const log = {
  always: (n: number, size: string) => c(`log always, ${n} appender${n === 1 ? '' : 's'}, ${size}`),
  raw: (n: number, size: string) => c(`raw writev + fdatasync, ${n} per sync, ${size}`),
  lmdb: (n: number, size: string) => c(`lmdb put awaiting flushed, ${n} writer${n === 1 ? '' : 's'}, ${size}`),
};

/** @q/http's cases (bench/http.ts). */
const http = {
  serial: c('reference: one record at a time (OPQ design), undici, 1 connection'),
  raw: c('ceiling: raw undici, 64 in flight, 64 keep-alive connections'),
  ours: c('ours: HttpDeliverer from a @q/log cursor, concurrency 64'),
  signed: c('ours: HttpDeliverer from a @q/log cursor, concurrency 64, signed (1 secret)'),
  tenAlone: c('ours: 36,000 records to 9 endpoints, alone, window 2,000'),
  tenBesideDown: c('ours: the same, with a 10th endpoint down (every 10th record), parked'),
  halfAlone: c('ours: 20,000 records to one endpoint, alone, default window'),
  halfBesideDown: c('ours: the same, interleaved with 20,000 to an endpoint that is down, parked'),
};

/** @q/outbox's cases (bench/outbox.ts) by their names' parts. */
const outbox = {
  pan: c('reference: pan proxy as published (1 sequential client, no fsync), 10 B'),
  up: (size: string, field?: string) => c(`ours in-process, sink up, 256 senders, ${size}`, field ? { field } : {}),
  down: (size: string) => c(`ours in-process, sink down (spill), 256 senders, ${size}`),
  raw: (size: string, field?: string) => c(`raw writev + fdatasync, 256 per sync, ${size}`, field ? { field } : {}),
};

/** Suite → ratio name (without its `(target …)`) → the cases it compares. */
export const PAIRINGS: Record<string, Record<string, Pairing>> = {
  core: {
    'batch path / hand-written batch channel': { ours: core.batch, peer: core.batchChannel },
    'batch path / fastq': { ours: core.batch, peer: core.fastq },
    'one-at-a-time path / promise-per-message channel': { ours: core.single, peer: core.promiseChannel },
    'one-at-a-time path / fastq': { ours: core.single, peer: core.fastq },
    'one-at-a-time path / p-limit': { ours: core.single, peer: c('p-limit (concurrency 8)') },
    'one-at-a-time path / p-queue': { ours: core.single, peer: c('p-queue (concurrency 8)') },
    'keyed batch path (1,000 keys) / batch path': { ours: core.keyedBatch, peer: core.batch },
    'keyed one-at-a-time path (1,000 keys) / one-at-a-time path': { ours: core.keyedSingle, peer: core.single },
    'slow key: fast keys with one 1 s key / without': {
      ours: c('slow key: fast keys, with key 0 taking 1 s per message'),
      peer: c('slow key: fast keys, key 0 a no-op too'),
    },
    'peak RSS MiB, 10M messages through capacity 1,024': {
      ours: c('queue, 10,000,000 messages through capacity 1,024 (memory)', { field: 'peakRssMiB' }),
    },
  },
  executors: {
    'ChunkExecutor add / floor': { ours: executors.chunk, peer: c('floor: array push, slice every 1,000') },
    'BulkExecutor add / floor': { ours: executors.bulk, peer: c('floor: array push, slice every 1,000') },
    'ChunkExecutor adds/s': { ours: executors.chunk },
    'BulkExecutor adds/s': { ours: executors.bulk },
    'ChunkExecutor confirmed adds/s': { ours: c('ChunkExecutor addAndConfirm (1 MiB chunks)') },
    'BulkExecutor confirmed adds/s': { ours: c('BulkExecutor addAndConfirm (1,000 tasks)') },
  },
  'kafka-testkit': {
    'produce: broker CPU / client CPU': {
      ours: c(producer, { field: 'brokerCpuSecondsPerMillion', label: 'test broker, producing' }),
      peer: c(producer, { field: 'clientCpuSecondsPerMillion', label: 'kafkajs producer (the client)' }),
    },
    'consume: broker CPU / client CPU': {
      ours: c(consumer, { field: 'brokerCpuSecondsPerMillion', label: 'test broker, serving fetches' }),
      peer: c(consumer, { field: 'clientCpuSecondsPerMillion', label: 'kafkajs consumer (the client)' }),
    },
  },
  kafka: {
    'partition mode / raw eachBatch, median of per-round ratios': { ours: kafka.partition, peer: kafka.eachBatch },
    'key mode / raw eachBatch, median of per-round ratios': { ours: kafka.key, peer: kafka.eachBatch },
    'partition mode / raw eachBatch, best rounds': { ours: kafka.partition, peer: kafka.eachBatch },
    'key mode / raw eachBatch, best rounds': { ours: kafka.key, peer: kafka.eachBatch },
    'KafkaPusher / raw kafkajs send, median of per-round ratios': {
      ours: c('KafkaPusher.push, 1 MiB chunks, acks -1, then close()'),
      peer: c('raw kafkajs send, same batches, acks -1'),
    },
    'partition mode / raw eachMessage': { ours: kafka.partition, peer: kafka.eachMessage },
    '1 ms handler: key / partition mode': {
      ours: c('1 ms handler, 1 partition, 100 keys: key mode, processors 100'),
      peer: c('1 ms handler, 1 partition, 100 keys: partition mode'),
    },
  },
  amqp: {
    'confirmed publish: ours / raw amqplib': {
      ours: c('ours: AmqpPusher.pushAndConfirm'),
      peer: c('raw amqplib: confirmed publish, window 1,024'),
    },
    'consume + ack: ours / raw amqplib': {
      ours: c('ours: amqpProducerFactory Queue end to end, prefetch 256'),
      peer: c('raw amqplib: consume, prefetch 256, manual acks'),
    },
  },
  redis: {
    'pusher / raw RPUSH': {
      ours: c('ours: RedisListPusher.push'),
      peer: c('raw RPUSH, 1,000 values per call, 4 in flight'),
    },
    'at-most-once / raw pop': { ours: redisAtMostOnce, peer: c('raw LPOP 256 per call, 8 in flight') },
    'at-most-once / BullMQ': { ours: redisAtMostOnce, peer: bullmq },
    'at-least-once / BullMQ': { ours: c('ours: at-least-once Queue end to end'), peer: bullmq },
    'at-most-once / naive BRPOP loop': {
      ours: redisAtMostOnce,
      peer: c('naive BRPOP loop, one message at a time (100,000)'),
    },
  },
  log: {
    'log always, 256 appenders / raw writev+fdatasync x256, 128 B': {
      ours: log.always(256, '128 B'),
      peer: log.raw(256, '128 B'),
    },
    'log always, 256 appenders / raw writev+fdatasync x256, 1 KB': {
      ours: log.always(256, '1 KB'),
      peer: log.raw(256, '1 KB'),
    },
    'log always, 256 appenders / raw writev+fdatasync x256, 2 KB': {
      ours: log.always(256, '2 KB'),
      peer: log.raw(256, '2 KB'),
    },
    'log always, 1 appender / raw 1 record per sync, 128 B': {
      ours: log.always(1, '128 B'),
      peer: log.raw(1, '128 B'),
    },
    'log always, 1 appender / raw 1 record per sync, 1 KB': { ours: log.always(1, '1 KB'), peer: log.raw(1, '1 KB') },
    'log always, 1 appender / raw 1 record per sync, 2 KB': { ours: log.always(1, '2 KB'), peer: log.raw(1, '2 KB') },
    'log always / lmdb at equal durability, 1 appender, 128 B': {
      ours: log.always(1, '128 B'),
      peer: log.lmdb(1, '128 B'),
    },
    'log always / lmdb at equal durability, 16 appenders, 128 B': {
      ours: log.always(16, '128 B'),
      peer: log.lmdb(16, '128 B'),
    },
    'log always / lmdb at equal durability, 256 appenders, 128 B': {
      ours: log.always(256, '128 B'),
      peer: log.lmdb(256, '128 B'),
    },
    'log always / lmdb at equal durability, 256 appenders, 1 KB': {
      ours: log.always(256, '1 KB'),
      peer: log.lmdb(256, '1 KB'),
    },
    'log always / lmdb at equal durability, 256 appenders, 2 KB': {
      ours: log.always(256, '2 KB'),
      peer: log.lmdb(256, '2 KB'),
    },
    'replay records/s at 128 B': { ours: c('log replay from 0, reader, 1,000,000 x 128 B') },
    'peak RSS MiB replaying 10M': {
      ours: c('log replay from 0 in its own process, 10,000,000 x 128 B (memory)', { field: 'peakRssMiB' }),
    },
  },
  outbox: {
    'in-process sink up 10 B / pan reference': { ours: outbox.up('10 B'), peer: outbox.pan },
    'in-process sink up 10 B / raw synced-write limit': { ours: outbox.up('10 B'), peer: outbox.raw('10 B') },
    'in-process sink up 1 KB / raw synced-write limit': { ours: outbox.up('1 KB'), peer: outbox.raw('1 KB') },
    'in-process sink up 5 KB / raw synced-write limit': { ours: outbox.up('5 KB'), peer: outbox.raw('5 KB') },
    'in-process spill 10 B / raw synced-write limit': { ours: outbox.down('10 B'), peer: outbox.raw('10 B') },
    'in-process spill 1 KB / raw synced-write limit': { ours: outbox.down('1 KB'), peer: outbox.raw('1 KB') },
    'in-process spill 5 KB / raw synced-write limit': { ours: outbox.down('5 KB'), peer: outbox.raw('5 KB') },
    'in-process sink up 5 KB MB/s / disk synced MB/s': {
      ours: outbox.up('5 KB', 'megabytesPerSecond'),
      peer: outbox.raw('5 KB', 'megabytesPerSecond'),
    },
    'proxy 1 msg/request / pan reference 10 B': {
      ours: c('ours proxy, 1 message per request, 256 connections, 10 B'),
      peer: outbox.pan,
    },
    'proxy NDJSON x100 / pan reference 10 B': {
      ours: c('ours proxy, NDJSON x100 per request, 256 connections, 10 B'),
      peer: outbox.pan,
    },
    'proxy 1 msg/request / HTTP floor (no storage), 10 B': {
      ours: c('ours proxy, 1 message per request, 256 connections, 10 B'),
      peer: c('HTTP floor: node:http answering at once, storing nothing, 1 message per request, 256 connections, 10 B'),
    },
    'drain to Redis msg/s, 10 B': { ours: c('ours in-process, drain to Redis from a backlog, 10 B') },
  },
  http: {
    'ours / one record at a time': { ours: http.ours, peer: http.serial },
    'ours / raw undici': { ours: http.ours, peer: http.raw },
    'ours signed / one record at a time': { ours: http.signed, peer: http.serial },
    'ours signed / raw undici': { ours: http.signed, peer: http.raw },
    'healthy endpoints, one of ten down / none down': { ours: http.tenBesideDown, peer: http.tenAlone },
    'healthy endpoint beside a down one taking half the log / alone': {
      ours: http.halfBesideDown,
      peer: http.halfAlone,
    },
  },
};
