import { InvalidOptionError } from './errors.js';
import { LOG_LEVELS, type LogLevel } from './json-logger.js';
import type { Logger } from './logger.js';

/** A bad command line: the command exits with code 2 and its usage. */
export class UsageError extends Error {}

/** The streams a command writes to. */
export interface CommandIo {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
}

/** What {@link runServeCommand} runs. */
export interface ServeCommand<V extends { help?: boolean | undefined }> {
  /** The program's name, the prefix of its error lines (`q-http`). */
  readonly name: string;
  /** The usage text, printed for `--help` and after a bad command line. */
  readonly usage: string;
  /** `util.parseArgs` with the command's options (strict, positionals allowed); throws on a bad one. */
  parse(argv: readonly string[]): { values: V; positionals: string[] };
  /** Serves until a signal; resolves with the exit code. */
  serve(values: V, io: CommandIo): Promise<number>;
}

/**
 * Runs `<name> serve [options]` from `argv` (without node and the script) and resolves with the exit code:
 * 0 for `--help`; 2 with the usage for a bad command line, a {@link UsageError} or an `InvalidOptionError`
 * from `serve`; 1 for any other failure; else what `serve` resolved with.
 */
export async function runServeCommand<V extends { help?: boolean | undefined }>(
  argv: readonly string[],
  io: CommandIo,
  command: ServeCommand<V>,
): Promise<number> {
  const { name, usage } = command;
  let parsed: { values: V; positionals: string[] };
  try {
    parsed = command.parse(argv);
  } catch (error) {
    io.err.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return 2;
  }
  if (parsed.values.help === true) {
    io.out.write(usage);
    return 0;
  }
  const [verb, ...extra] = parsed.positionals;
  if (verb !== 'serve' || extra.length > 0) {
    const problem = verb === undefined ? 'a command is needed' : `unknown command "${parsed.positionals.join(' ')}"`;
    io.err.write(`${name}: ${problem}\n\n${usage}`);
    return 2;
  }
  try {
    return await command.serve(parsed.values, io);
  } catch (error) {
    const bad = error instanceof UsageError || error instanceof InvalidOptionError;
    io.err.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    if (bad) io.err.write(`\n${usage}`);
    return bad ? 2 : 1;
  }
}

/** The value of a required option. @throws {UsageError} when absent or empty. */
export function requiredOption(name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`${name} is required`);
  return value;
}

/** A non-negative integer option (at least `min`), or `fallback` when absent. @throws {UsageError} */
export function countOption(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min)
    throw new UsageError(`${name} takes an integer >= ${min}, got "${value}"`);
  return n;
}

/** `--log-level` (default `info`). @throws {UsageError} for another value. */
export function logLevelOption(value: string | undefined): LogLevel {
  const level = (value ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level takes ${LOG_LEVELS.join(', ')}, got "${level}"`);
  return level;
}

/** `--port` (0 to 65535, `fallback` when absent). @throws {UsageError} */
export function portOption(value: string | undefined, fallback: number): number {
  const port = countOption('--port', value, fallback);
  if (port > 65535) throw new UsageError(`--port takes 0 to 65535, got ${port}`);
  return port;
}

/**
 * Waits for SIGTERM or SIGINT, logs `closing` (with the signal and `timeoutMs`), then awaits `close`; a
 * second signal exits at once (code 1), after logging `onSecond`. Resolves with 0, or 1 when `close` threw
 * (logged as `closeFailed`).
 */
export async function closeOnSignal(
  logger: Logger,
  messages: { closing: string; onSecond: string; closeFailed: string },
  timeoutMs: number,
  close: () => Promise<void>,
): Promise<number> {
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const again = (second: NodeJS.Signals): void => {
    logger.warn({ signal: second }, messages.onSecond);
    process.exit(1);
  };
  process.once('SIGTERM', again);
  process.once('SIGINT', again);
  logger.info({ signal, timeoutMs }, messages.closing);
  try {
    await close();
    return 0;
  } catch (error) {
    logger.error({ err: error }, messages.closeFailed);
    return 1;
  }
}
