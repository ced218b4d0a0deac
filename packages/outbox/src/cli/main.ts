import { parseArgs } from 'node:util';
import {
  type CommandIo,
  closeOnSignal,
  countOption,
  jsonLogger,
  logLevelOption,
  portOption,
  requiredOption,
  runServeCommand,
  UsageError,
} from '@q/core/internal';
import { Outbox } from '../index.js';
import { DEFAULT_MAX_BATCH_MESSAGES, DEFAULT_PORT } from '../server/options.js';
import { OutboxProxy } from '../server/proxy.js';
import { openSink } from './open-sink.js';
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

/** The streams {@link main} writes to. */
export type MainIo = CommandIo;

/**
 * Runs the command line `argv` (without node and the script). `serve` runs until SIGTERM or
 * SIGINT; resolves with the exit code.
 */
export function main(
  argv: readonly string[],
  io: MainIo = { out: process.stdout, err: process.stderr },
): Promise<number> {
  return runServeCommand(argv, io, { name: 'q-outbox', usage: USAGE, parse, serve });
}

async function serve(values: ReturnType<typeof parse>['values'], io: MainIo): Promise<number> {
  const dir = requiredOption('--dir', values.dir);
  const sinkSpec = parseSinkUrl(requiredOption('--sink', values.sink));
  const level = logLevelOption(values['log-level']);
  const mode = values.mode ?? 'write-ahead';
  if (mode !== 'write-ahead' && mode !== 'direct-first')
    throw new UsageError(`--mode takes write-ahead or direct-first, got "${mode}"`);
  const whenFull = values['when-full'] ?? 'block';
  if (whenFull !== 'block' && whenFull !== 'reject')
    throw new UsageError(`--when-full takes block or reject, got "${whenFull}"`);
  const port = portOption(values.port, DEFAULT_PORT);
  const maxBodyBytes = countOption('--max-body-bytes', values['max-body-bytes'], 1024 * 1024, 1);
  const maxBatchBytes = countOption('--max-batch-bytes', values['max-batch-bytes'], 16 * 1024 * 1024, 1);
  const maxBatchMessages = countOption(
    '--max-batch-messages',
    values['max-batch-messages'],
    DEFAULT_MAX_BATCH_MESSAGES,
    1,
  );
  const maxBytes = countOption('--max-bytes', values['max-bytes'], Number.POSITIVE_INFINITY, 1);
  const segmentBytes =
    values['segment-bytes'] === undefined ? undefined : countOption('--segment-bytes', values['segment-bytes'], 0, 1);
  const closeTimeoutMs = countOption('--close-timeout-ms', values['close-timeout-ms'], 10_000);
  const unhealthyAfterSinkDownMs = countOption(
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
  const open = proxy;
  const code = await closeOnSignal(
    logger,
    {
      closing: 'closing: forwarding what the deadline allows',
      onSecond: 'second signal: exiting without finishing the close (the log keeps every message)',
      closeFailed: 'closing the outbox failed',
    },
    closeTimeoutMs,
    () => open.close({ timeoutMs: closeTimeoutMs }),
  );
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
