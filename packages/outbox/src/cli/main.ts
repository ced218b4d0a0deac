import { parseArgs } from 'node:util';
import { InvalidOptionError, type Logger } from '@q/core';
import { jsonLogger, LOG_LEVELS, type LogLevel } from '@q/core/internal';
import { Outbox } from '../index.js';
import { DEFAULT_MAX_BATCH_MESSAGES, DEFAULT_PORT } from '../server/options.js';
import { OutboxProxy } from '../server/proxy.js';
import { type OpenedSink, openSink } from './open-sink.js';
import { parseSinkUrl } from './sink-url.js';

const USAGE = `Usage: q-outbox serve --dir DIR --sink URL [options]

Takes messages over HTTP (TCP and, with --socket, a unix socket) into an fsync'd
outbox in DIR and forwards them to the sink; a message is answered 200 only once
it is safe. Routes: POST /v1/messages, POST /v1/messages/batch (NDJSON),
GET /v1/health, GET /metrics (see docs/outbox.md, "The proxy").

Sinks:
  redis://[user:password@]host:port[/db]/key   RPUSH to the list KEY, replays dropped
                                               by the outbox id (rediss:// for TLS)
  kafka://host:port[,host:port...]/topic       produce to TOPIC (idempotent, acks all)

Options:
  --dir DIR                   the outbox's directory
  --sink URL                  where messages go (above)
  --port N                    TCP port, 0 for any free one (default ${DEFAULT_PORT})
  --host ADDR                 TCP address (default 127.0.0.1)
  --socket PATH               also listen on this unix socket
  --mode MODE                 write-ahead (default: every message to the log first)
                              or direct-first (straight to the sink while it is up)
  --max-body-bytes N          largest message, single or in a batch (default 1048576)
  --max-batch-bytes N         largest batch request body (default 16777216)
  --max-batch-messages N      most messages in one batch request (default ${DEFAULT_MAX_BATCH_MESSAGES})
  --max-bytes N               bound of the outbox's log on disk, at least twice
                              --segment-bytes (default: none)
  --segment-bytes N           size of the log's segment files (default 67108864)
  --when-full block|reject    at --max-bytes or a full disk, hold requests until
                              there is room (default) or answer 503 at once
  --id ID                     the outbox's id (default: generated once, kept in DIR)
  --close-timeout-ms N        on SIGTERM/SIGINT, forward for up to N ms, then keep
                              the rest in DIR for the next start (default 10000)
  --unhealthy-after-ms N      /v1/health answers 503 once the sink has been down
                              N ms (default: never; the proxy takes messages anyway)
  --log-level LEVEL           error, warn, info (default) or debug
  -h, --help                  this text

The first line on stdout is "listening <http url>[ unix:<socket path>]"; logs
are JSON lines on stderr. Exit codes: 0 after SIGTERM/SIGINT, 1 when the outbox
or a listener could not start, 2 for a bad command line.
`;

/** A bad command line: exit code 2. */
class UsageError extends Error {}

/** The streams {@link main} writes to. */
export interface MainIo {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
}

/**
 * Runs the command line `argv` (without node and the script). `serve` runs until SIGTERM or
 * SIGINT; resolves with the exit code.
 */
export async function main(
  argv: readonly string[],
  io: MainIo = { out: process.stdout, err: process.stderr },
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.err.write(`q-outbox: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help === true) {
    io.out.write(USAGE);
    return 0;
  }
  const [command, ...extra] = parsed.positionals;
  if (command !== 'serve' || extra.length > 0) {
    const problem = command === undefined ? 'a command is needed' : `unknown command "${parsed.positionals.join(' ')}"`;
    io.err.write(`q-outbox: ${problem}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await serve(parsed.values, io);
  } catch (error) {
    const usage = error instanceof UsageError || error instanceof InvalidOptionError;
    io.err.write(`q-outbox: ${error instanceof Error ? error.message : String(error)}\n`);
    if (usage) io.err.write(`\n${USAGE}`);
    return usage ? 2 : 1;
  }
}

async function serve(values: ReturnType<typeof parse>['values'], io: MainIo): Promise<number> {
  const dir = required('--dir', values.dir);
  const sinkSpec = parseSinkUrl(required('--sink', values.sink));
  const level = (values['log-level'] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level takes ${LOG_LEVELS.join(', ')}, got "${level}"`);
  const mode = values.mode ?? 'write-ahead';
  if (mode !== 'write-ahead' && mode !== 'direct-first')
    throw new UsageError(`--mode takes write-ahead or direct-first, got "${mode}"`);
  const whenFull = values['when-full'] ?? 'block';
  if (whenFull !== 'block' && whenFull !== 'reject')
    throw new UsageError(`--when-full takes block or reject, got "${whenFull}"`);
  const port = count('--port', values.port, DEFAULT_PORT);
  if (port > 65535) throw new UsageError(`--port takes 0 to 65535, got ${port}`);
  const maxBodyBytes = count('--max-body-bytes', values['max-body-bytes'], 1024 * 1024, 1);
  const maxBatchBytes = count('--max-batch-bytes', values['max-batch-bytes'], 16 * 1024 * 1024, 1);
  const maxBatchMessages = count('--max-batch-messages', values['max-batch-messages'], DEFAULT_MAX_BATCH_MESSAGES, 1);
  const maxBytes = count('--max-bytes', values['max-bytes'], Number.POSITIVE_INFINITY, 1);
  const segmentBytes =
    values['segment-bytes'] === undefined ? undefined : count('--segment-bytes', values['segment-bytes'], 0, 1);
  const closeTimeoutMs = count('--close-timeout-ms', values['close-timeout-ms'], 10_000);
  const unhealthyAfterSinkDownMs = count(
    '--unhealthy-after-ms',
    values['unhealthy-after-ms'],
    Number.POSITIVE_INFINITY,
  );
  const logger = jsonLogger(io.err, level);

  const sink = await openSink(sinkSpec, logger);
  let outbox: Outbox | undefined;
  let proxy: OutboxProxy | undefined;
  try {
    outbox = new Outbox({ dir, sink: sink.pusher, id: values.id, mode, whenFull, maxBytes, segmentBytes, logger });
    await outbox.ready();
    proxy = new OutboxProxy({
      outbox,
      port,
      host: values.host,
      socket: values.socket,
      maxBodyBytes,
      maxBatchBytes,
      maxBatchMessages,
      unhealthyAfterSinkDownMs,
      closeTimeoutMs,
      logger,
    });
    const addresses = await proxy.listen();
    io.out.write(`listening ${addresses.http}${addresses.socket === undefined ? '' : ` unix:${addresses.socket}`}\n`);
    logger.info(
      { outbox: outbox.id, dir, sink: sink.name, mode, ...addresses },
      `q-outbox ${outbox.id} serving on ${addresses.http}`,
    );
  } catch (error) {
    await (proxy?.close({ timeoutMs: 0 }) ?? outbox?.close({ timeoutMs: 0 }))?.catch(() => undefined);
    await sink.close();
    throw error;
  }
  return stopOnSignal(proxy, sink, closeTimeoutMs, logger);
}

/** Waits for SIGTERM or SIGINT, then closes the proxy (and outbox) and the sink; a second signal exits at once. */
async function stopOnSignal(proxy: OutboxProxy, sink: OpenedSink, timeoutMs: number, logger: Logger): Promise<number> {
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const again = (second: NodeJS.Signals): void => {
    logger.warn({ signal: second }, 'second signal: exiting without finishing the close (the log keeps every message)');
    process.exit(1);
  };
  process.once('SIGTERM', again);
  process.once('SIGINT', again);
  logger.info({ signal, timeoutMs }, 'closing: forwarding what the deadline allows');
  let code = 0;
  try {
    await proxy.close({ timeoutMs });
  } catch (error) {
    logger.error({ err: error }, 'closing the outbox failed');
    code = 1;
  }
  await sink.close();
  logger.info({}, 'closed');
  return code;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      dir: { type: 'string' },
      sink: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      socket: { type: 'string' },
      mode: { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'max-batch-bytes': { type: 'string' },
      'max-batch-messages': { type: 'string' },
      'max-bytes': { type: 'string' },
      'segment-bytes': { type: 'string' },
      'when-full': { type: 'string' },
      id: { type: 'string' },
      'close-timeout-ms': { type: 'string' },
      'unhealthy-after-ms': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function required(name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`${name} is required`);
  return value;
}

/** A non-negative integer option (at least `min`), or `fallback` when absent. */
function count(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min)
    throw new UsageError(`${name} takes an integer >= ${min}, got "${value}"`);
  return n;
}
