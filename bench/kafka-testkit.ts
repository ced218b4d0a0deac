/**
 * `pnpm bench kafka-testkit`: the test broker as its own process (the CLI, built), kafkajs as the
 * client in this process. 1,000,000 messages of 100 bytes, produced in batches of 1,000 with acks -1
 * (4 sends in flight), then consumed with eachBatch. Reports messages/s and the CPU seconds each
 * process spent per million messages: the broker must not be the bottleneck (at most half the
 * client's CPU). Writes bench/results/kafka-testkit.json.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { fmt, table } from './lib/cases.js';
import { counter } from './lib/counter.js';
import { machineLine } from './lib/machine.js';

const N = 1_000_000;
const BATCH = 1000;
const IN_FLIGHT = 4;
const PARTITIONS = 4;
const root = fileURLToPath(new URL('..', import.meta.url));

const build = spawnSync('tsc', ['-p', 'packages/kafka-testkit/tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) throw new Error('building @q/kafka-testkit failed');
const broker: ChildProcess = spawn(
  process.execPath,
  ['packages/kafka-testkit/dist/cli.js', '--topic', 'bench', '--partitions', String(PARTITIONS)],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
);
const bootstrap = await new Promise<string>((resolve) =>
  broker.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())),
);

/** CPU seconds (user + system) of a process so far, from /proc. */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const selfCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const kafka = new Kafka({ clientId: 'bench', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING });
const value = Buffer.alloc(100, 'x');

// Produce
const producer = kafka.producer();
await producer.connect();
const messages = Array.from({ length: BATCH }, () => ({ value }));
let b0 = cpuOf(broker.pid as number);
let c0 = selfCpu();
let t0 = performance.now();
let sent = 0;
await Promise.all(
  Array.from({ length: IN_FLIGHT }, async () => {
    while (sent < N) {
      sent += BATCH;
      await producer.send({ topic: 'bench', acks: -1, messages });
    }
  }),
);
const produceMs = performance.now() - t0;
const produce = { brokerCpu: cpuOf(broker.pid as number) - b0, clientCpu: selfCpu() - c0 };
await producer.disconnect();

// Consume
const consumer = kafka.consumer({
  groupId: 'bench',
  maxBytes: 10 << 20,
  maxBytesPerPartition: 4 << 20,
  maxWaitTimeInMs: 100,
});
await consumer.connect();
await consumer.subscribe({ topic: 'bench', fromBeginning: true });
const received = counter(N, { strict: false });
b0 = cpuOf(broker.pid as number);
c0 = selfCpu();
t0 = performance.now();
await consumer.run({
  eachBatch: async ({ batch }) => received.hit(batch.messages.length),
});
await received.done;
const consumeMs = performance.now() - t0;
const consume = { brokerCpu: cpuOf(broker.pid as number) - b0, clientCpu: selfCpu() - c0 };
await consumer.disconnect();
broker.kill('SIGTERM');

const perMillion = (cpu: number): number => Math.round((cpu / (N / 1e6)) * 100) / 100;
const results = [
  {
    name: 'kafkajs producer, batches of 1,000 x 100 B, acks -1, 4 in flight',
    messagesPerSecond: Math.round((N / produceMs) * 1000),
    brokerCpuSecondsPerMillion: perMillion(produce.brokerCpu),
    clientCpuSecondsPerMillion: perMillion(produce.clientCpu),
  },
  {
    name: 'kafkajs consumer, eachBatch',
    messagesPerSecond: Math.round((N / consumeMs) * 1000),
    brokerCpuSecondsPerMillion: perMillion(consume.brokerCpu),
    clientCpuSecondsPerMillion: perMillion(consume.clientCpu),
  },
];
const round = (x: number): number => Math.round(x * 100) / 100;
const ratios = {
  'produce: broker CPU / client CPU (target <= 0.5)': round(produce.brokerCpu / produce.clientCpu),
  'consume: broker CPU / client CPU (target <= 0.5)': round(consume.brokerCpu / consume.clientCpu),
};
const report = {
  suite: 'kafka-testkit',
  machine: machineLine(),
  node: process.version,
  date: new Date().toISOString(),
  results,
  ratios,
};
writeFileSync(new URL('./results/kafka-testkit.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nkafka-testkit — ${report.machine}, node ${report.node}`);
console.log(
  table([
    ['case', 'msg/s', 'broker CPU s / M msgs', 'client CPU s / M msgs'],
    ...results.map((r) => [
      r.name,
      fmt(r.messagesPerSecond),
      String(r.brokerCpuSecondsPerMillion),
      String(r.clientCpuSecondsPerMillion),
    ]),
  ]),
);
console.log(`\n${table([['ratio', 'value'], ...Object.entries(ratios).map(([k, v]) => [k, String(v)])])}`);
process.exit(0);
