#!/usr/bin/env node
// q-kafka-testkit: runs the test broker as its own process, for kcat and other processes.
// Prints the bootstrap address on the first line of stdout, then serves until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { startKafkaBroker } from './start-kafka-broker.js';

const { values } = parseArgs({
  options: {
    brokers: { type: 'string', default: '1' },
    port: { type: 'string', default: '0' },
    partitions: { type: 'string', default: '1' },
    topic: { type: 'string', multiple: true },
  },
});
const brokers = Number(values.brokers);
const port = Number(values.port);
if (!Number.isInteger(brokers) || brokers < 1) {
  console.error('--brokers must be an integer >= 1');
  process.exit(2);
}
const kafka = await startKafkaBroker({
  brokers,
  ports: port > 0 ? Array.from({ length: brokers }, (_, i) => port + i) : undefined,
  defaultPartitions: Number(values.partitions),
  topics: values.topic ?? [],
  log: (line) => console.error(line),
});
console.log(kafka.bootstrap.join(','));
const stop = async (): Promise<void> => {
  await kafka.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
