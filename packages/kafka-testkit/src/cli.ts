// q-kafka-testkit: runs the test broker as its own process, for kcat and other processes.
// Prints the bootstrap address on the first line of stdout, then serves until SIGINT/SIGTERM.
// Started through bin/q-kafka-testkit.js, which picks the build or the TypeScript source.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startKafkaBroker } from './start-kafka-broker.js';

const NAME = 'q-kafka-testkit';

const HELP = `Usage: ${NAME} [options]

Runs an in-memory broker that speaks the Kafka wire protocol on loopback ports (for tests, benches
and demos: no persistence, no replication). Prints the bootstrap address (host:port,...) on the first
line of stdout and serves until SIGINT or SIGTERM.

Options:
  --brokers <n>       brokers in the cluster (default 1)
  --port <port>       port of the first broker, the others follow (default 0: free ports)
  --partitions <n>    partitions of topics created by name or on first use (default 1)
  --topic <name>      a topic to create at start (repeatable)
  -h, --help          this text
  -v, --version       the version
`;

/** Exits with a one-line message: a usage problem is not a crash, so no stack trace. */
function usage(message: string): never {
  process.stderr.write(`${NAME}: ${message} (${NAME} --help lists the options)\n`);
  process.exit(2);
}

/** An integer option within bounds, or a usage error. */
function integer(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    usage(`--${name} must be an integer from ${min} to ${max}, not '${value}'`);
  return n;
}

let values: { brokers: string; port: string; partitions: string; topic?: string[]; help?: boolean; version?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      brokers: { type: 'string', default: '1' },
      port: { type: 'string', default: '0' },
      partitions: { type: 'string', default: '1' },
      topic: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  }));
} catch (error) {
  // parseArgs explains unknown options, missing values and stray arguments in its first sentence.
  const code = (error as { code?: string }).code ?? '';
  if (!code.startsWith('ERR_PARSE_ARGS')) throw error;
  const first = (error as Error).message.split('. ')[0] ?? '';
  usage(`${first.charAt(0).toLowerCase()}${first.slice(1)}`);
}
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
if (values.version) {
  // package.json is one level up from both src/ and dist/.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`${pkg.version}\n`);
  process.exit(0);
}
const brokers = integer('brokers', values.brokers, 1, 64);
const port = integer('port', values.port, 0, 65_536 - brokers);
const partitions = integer('partitions', values.partitions, 1, 10_000);

let kafka: Awaited<ReturnType<typeof startKafkaBroker>>;
try {
  kafka = await startKafkaBroker({
    brokers,
    ports: port > 0 ? Array.from({ length: brokers }, (_, i) => port + i) : undefined,
    defaultPartitions: partitions,
    topics: values.topic ?? [],
    log: (line) => console.error(line),
  });
} catch (error) {
  // A taken port is the usual cause; say so in one line.
  process.stderr.write(`${NAME}: cannot start: ${(error as Error).message}\n`);
  process.exit(1);
}
console.log(kafka.bootstrap.join(','));
const stop = async (): Promise<void> => {
  await kafka.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
