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
} from '@q/core/internal';
import { HttpQueueServer } from '../server/http-queue-server.js';
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_TOPICS,
  DEFAULT_PORT,
  DEFAULT_TAIL_CACHE_BYTES,
  type TopicDeliveryOptions,
} from '../server/options.js';

const USAGE = `Usage: q-http serve --dir DIR [options]

A persistent queue over HTTP: messages pushed to a topic are fdatasync'd in
DIR/topics/<topic> (answered 201 only then) and POSTed to their URL, with
retries, dead letters and replay. Every topic in DIR resumes at start.
Routes: POST /opq/push, POST /opq/replay (OPQ's forms), POST /v1/topics/:topic/
messages, .../replay, GET /v1/topics/:topic, .../dead-letters, POST .../dead-
letters/redrive, .../endpoints/enable, GET /v1/health, GET /metrics
(see docs/http.md, "The server").

Options:
  --dir DIR                 the server's directory
  --port N                  TCP port, 0 for any free one (default ${DEFAULT_PORT})
  --host ADDR               TCP address (default 127.0.0.1)
  --socket PATH             also listen on this unix socket
  --concurrency N           attempts in flight per target URL (default 16)
  --timeout-ms N            whole-attempt deadline (default 15000)
  --connect-timeout-ms N    connect deadline (default 5000)
  --max-attempts N          attempts per message, the first included (default 10)
  --min-delay-ms N          back-off before the first retry, at most (default 5000)
  --max-delay-ms N          longest back-off (default 86400000)
  --max-age-ms N            dead-letter what is still undelivered this long after
                            it was accepted (default 259200000: 3 days)
  --secret S                a Standard Webhooks secret (whsec_...) signing every
                            attempt; repeat it to sign with several (rotation).
                            Visible to other users in ps: prefer a private host
  --max-body-bytes N        largest request body (default ${DEFAULT_MAX_BODY_BYTES})
  --max-topics N            most topics (default ${DEFAULT_MAX_TOPICS})
  --tail-cache-bytes N      memory for new records kept for the deliverers, all
                            topics together (default ${DEFAULT_TAIL_CACHE_BYTES}); 0: off
  --close-timeout-ms N      on SIGTERM/SIGINT, deliveries under way get N ms;
                            the rest resume at the next start (default ${DEFAULT_CLOSE_TIMEOUT_MS})
  --log-level LEVEL         error, warn, info (default) or debug
  -h, --help                this text

The first line on stdout is "listening <http url>[ unix:<socket path>]"; logs
are JSON lines on stderr. Exit codes: 0 after SIGTERM/SIGINT, 1 when the server
could not start or close, 2 for a bad command line.
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
  return runServeCommand(argv, io, { name: 'q-http', usage: USAGE, parse, serve });
}

async function serve(values: ReturnType<typeof parse>['values'], io: MainIo): Promise<number> {
  const dir = requiredOption('--dir', values.dir);
  const level = logLevelOption(values['log-level']);
  const port = portOption(values.port, DEFAULT_PORT);
  const closeTimeoutMs = countOption('--close-timeout-ms', values['close-timeout-ms'], DEFAULT_CLOSE_TIMEOUT_MS);
  const logger = jsonLogger(io.err, level);
  const server = new HttpQueueServer({
    dir,
    port,
    host: values.host,
    socket: values.socket,
    maxBodyBytes: countOption('--max-body-bytes', values['max-body-bytes'], DEFAULT_MAX_BODY_BYTES, 1),
    maxTopics: countOption('--max-topics', values['max-topics'], DEFAULT_MAX_TOPICS, 1),
    tailCacheBytes: countOption('--tail-cache-bytes', values['tail-cache-bytes'], DEFAULT_TAIL_CACHE_BYTES),
    closeTimeoutMs,
    delivery: deliveryOptions(values),
    logger,
  });
  try {
    const addresses = await server.start();
    io.out.write(`listening ${addresses.http}${addresses.socket === undefined ? '' : ` unix:${addresses.socket}`}\n`);
    logger.info({ dir, ...addresses }, `q-http serving on ${addresses.http}`);
  } catch (error) {
    await server.close({ timeoutMs: 0 }).catch(() => undefined);
    throw error;
  }
  const closed = closeOnSignal(
    logger,
    {
      closing: 'closing: finishing the deliveries the deadline allows',
      onSecond: 'second signal: exiting without finishing the close (the logs keep every message)',
      closeFailed: 'closing the server failed',
    },
    closeTimeoutMs,
    () => server.close({ timeoutMs: closeTimeoutMs }),
  );
  const code = await closed;
  logger.info({}, 'closed');
  return code;
}

/** The delivery options given on the command line; the engine's defaults for the others. */
function deliveryOptions(values: ReturnType<typeof parse>['values']): TopicDeliveryOptions {
  const optional = (name: string, min = 0): number | undefined => {
    const value = values[name.slice(2) as keyof typeof values];
    return value === undefined ? undefined : countOption(name, value as string, 0, min);
  };
  const retry = {
    maxAttempts: optional('--max-attempts', 1),
    minDelayMs: optional('--min-delay-ms'),
    maxDelayMs: optional('--max-delay-ms'),
    maxAgeMs: optional('--max-age-ms'),
  };
  const delivery = {
    concurrency: optional('--concurrency', 1),
    timeoutMs: optional('--timeout-ms', 1),
    connectTimeoutMs: optional('--connect-timeout-ms', 1),
    retry: Object.fromEntries(Object.entries(retry).filter(([, v]) => v !== undefined)),
    ...(values.secret === undefined ? {} : { secrets: values.secret }),
  };
  return Object.fromEntries(Object.entries(delivery).filter(([, v]) => v !== undefined)) as TopicDeliveryOptions;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      dir: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      socket: { type: 'string' },
      concurrency: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'connect-timeout-ms': { type: 'string' },
      'max-attempts': { type: 'string' },
      'min-delay-ms': { type: 'string' },
      'max-delay-ms': { type: 'string' },
      'max-age-ms': { type: 'string' },
      secret: { type: 'string', multiple: true },
      'max-body-bytes': { type: 'string' },
      'max-topics': { type: 'string' },
      'tail-cache-bytes': { type: 'string' },
      'close-timeout-ms': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
