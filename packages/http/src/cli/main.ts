import { parseArgs } from 'node:util';
import { InvalidOptionError, type Logger } from '@q/core';
import { jsonLogger, LOG_LEVELS, type LogLevel } from '@q/core/internal';
import { HttpQueueServer } from '../server/http-queue-server.js';
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_TOPICS,
  DEFAULT_PORT,
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
  --close-timeout-ms N      on SIGTERM/SIGINT, deliveries under way get N ms;
                            the rest resume at the next start (default ${DEFAULT_CLOSE_TIMEOUT_MS})
  --log-level LEVEL         error, warn, info (default) or debug
  -h, --help                this text

The first line on stdout is "listening <http url>[ unix:<socket path>]"; logs
are JSON lines on stderr. Exit codes: 0 after SIGTERM/SIGINT, 1 when the server
could not start or close, 2 for a bad command line.
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
    io.err.write(`q-http: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help === true) {
    io.out.write(USAGE);
    return 0;
  }
  const [command, ...extra] = parsed.positionals;
  if (command !== 'serve' || extra.length > 0) {
    const problem = command === undefined ? 'a command is needed' : `unknown command "${parsed.positionals.join(' ')}"`;
    io.err.write(`q-http: ${problem}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await serve(parsed.values, io);
  } catch (error) {
    const usage = error instanceof UsageError || error instanceof InvalidOptionError;
    io.err.write(`q-http: ${error instanceof Error ? error.message : String(error)}\n`);
    if (usage) io.err.write(`\n${USAGE}`);
    return usage ? 2 : 1;
  }
}

async function serve(values: ReturnType<typeof parse>['values'], io: MainIo): Promise<number> {
  const dir = required('--dir', values.dir);
  const level = (values['log-level'] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level takes ${LOG_LEVELS.join(', ')}, got "${level}"`);
  const port = count('--port', values.port, DEFAULT_PORT);
  if (port > 65535) throw new UsageError(`--port takes 0 to 65535, got ${port}`);
  const closeTimeoutMs = count('--close-timeout-ms', values['close-timeout-ms'], DEFAULT_CLOSE_TIMEOUT_MS);
  const logger = jsonLogger(io.err, level);
  const server = new HttpQueueServer({
    dir,
    port,
    host: values.host,
    socket: values.socket,
    maxBodyBytes: count('--max-body-bytes', values['max-body-bytes'], DEFAULT_MAX_BODY_BYTES, 1),
    maxTopics: count('--max-topics', values['max-topics'], DEFAULT_MAX_TOPICS, 1),
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
  return stopOnSignal(server, closeTimeoutMs, logger);
}

/** The delivery options given on the command line; the engine's defaults for the others. */
function deliveryOptions(values: ReturnType<typeof parse>['values']): TopicDeliveryOptions {
  const optional = (name: string, min = 0): number | undefined => {
    const value = values[name.slice(2) as keyof typeof values];
    return value === undefined ? undefined : count(name, value as string, 0, min);
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

/** Waits for SIGTERM or SIGINT, then closes the server within its deadline; a second signal exits at once. */
async function stopOnSignal(server: HttpQueueServer, timeoutMs: number, logger: Logger): Promise<number> {
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const again = (second: NodeJS.Signals): void => {
    logger.warn({ signal: second }, 'second signal: exiting without finishing the close (the logs keep every message)');
    process.exit(1);
  };
  process.once('SIGTERM', again);
  process.once('SIGINT', again);
  logger.info({ signal, timeoutMs }, 'closing: finishing the deliveries the deadline allows');
  let code = 0;
  try {
    await server.close({ timeoutMs });
  } catch (error) {
    logger.error({ err: error }, 'closing the server failed');
    code = 1;
  }
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
      'close-timeout-ms': { type: 'string' },
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
