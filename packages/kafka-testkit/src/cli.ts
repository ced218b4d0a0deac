// q-kafka-testkit: runs the test broker as its own process, for kcat and other processes.
// Prints the bootstrap address on the first line of stdout, then serves until SIGINT/SIGTERM.
// Started through bin/q-kafka-testkit.js, which picks the build or the TypeScript source.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startKafkaBroker } from './start-kafka-broker.js';

const NAME = 'q-kafka-testkit';

const HELP = `Usage: ${NAME} [options]

Runs a broker that speaks the Kafka wire protocol on loopback ports (for tests, benches and demos:
no replication; in memory unless --data-dir is given). Prints the bootstrap address (host:port,...)
on the first line of stdout and serves until SIGINT or SIGTERM.

Options:
  --brokers <n>       brokers in the cluster (default 1)
  --port <port>       port of the first broker, the others follow (default 0: free ports)
  --partitions <n>    partitions of topics created by name or on first use (default 1)
  --topic <name>      a topic to create at start (repeatable)
  --data-dir <dir>    keep topics, records and committed offsets in <dir> (created when missing)
                      and load them at start: started again on the same <dir> and --port after a
                      stop or a kill, it serves what it acknowledged (default: memory only)
  --fsync             with --data-dir, sync to the disk before answering (survives power loss,
                      not only a kill of the process)
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

let values: {
  brokers: string;
  port: string;
  partitions: string;
  topic?: string[];
  'data-dir'?: string;
  fsync?: boolean;
  help?: boolean;
  version?: boolean;
};
try {
  ({ values } = parseArgs({
    options: {
      brokers: { type: 'string', default: '1' },
      port: { type: 'string', default: '0' },
      partitions: { type: 'string', default: '1' },
      topic: { type: 'string', multiple: true },
      'data-dir': { type: 'string' },
      fsync: { type: 'boolean' },
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
const dataDir = values['data-dir'];
if (dataDir === '') usage('--data-dir must name a directory');
if (values.fsync && dataDir === undefined) usage('--fsync needs --data-dir');

let kafka: Awaited<ReturnType<typeof startKafkaBroker>>;
try {
  kafka = await startKafkaBroker({
    brokers,
    ports: port > 0 ? Array.from({ length: brokers }, (_, i) => port + i) : undefined,
    defaultPartitions: partitions,
    topics: values.topic ?? [],
    log: (line) => console.error(line),
    dataDir,
    fsync: values.fsync,
  });
} catch (error) {
  // A taken port or a data directory in use is the usual cause; say so in one line.
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
