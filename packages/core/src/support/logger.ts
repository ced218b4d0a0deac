/**
 * Where `@q` writes what it has to say, passed through the `logger` option. The calling convention is
 * pino's and bunyan's, fields first and message second, so `logger: pino()` (or a child of it) fits as
 * it is. The fields are the line's context; an error, when there is one, is under `err`, the key pino's
 * and bunyan's error serializers read (message, stack, cause). `@q` never logs message bodies. A
 * message-first logger (winston, `console`) needs a four-line adapter, as {@link consoleLogger} is. A
 * logger that throws is ignored.
 */
export interface Logger {
  /** Something failed and `@q` could not make up for it (a message may be lost or redone). */
  error(fields: Readonly<Record<string, unknown>>, message: string): void;
  /** Something failed and `@q` made up for it, or will. */
  warn(fields: Readonly<Record<string, unknown>>, message: string): void;
  /** What happened, for the record; the default logger drops it. */
  info(fields: Readonly<Record<string, unknown>>, message: string): void;
  /** Detail for troubleshooting; the default logger drops it. */
  debug(fields: Readonly<Record<string, unknown>>, message: string): void;
}

const noop = (): void => {};

/** A logger that drops everything. */
export const silentLogger: Logger = Object.freeze({ error: noop, warn: noop, info: noop, debug: noop });

/** The default logger: warnings and errors to the console (message first, then the fields), nothing else. */
export const consoleLogger: Logger = Object.freeze({
  error: (fields: Readonly<Record<string, unknown>>, message: string) => console.error(...consoleArgs(fields, message)),
  warn: (fields: Readonly<Record<string, unknown>>, message: string) => console.warn(...consoleArgs(fields, message)),
  info: noop,
  debug: noop,
});

/** The console takes the message first; a line without context gets no trailing `{}`. */
function consoleArgs(fields: Readonly<Record<string, unknown>>, message: string): unknown[] {
  return typeof fields === 'object' && fields !== null && Object.keys(fields).length > 0
    ? [`[q] ${message}`, fields]
    : [`[q] ${message}`];
}

const guarded = new WeakSet<Logger>();

/**
 * `logger` with every method guarded, so that a logger that throws is ignored (what {@link Logger}
 * promises) wherever `@q` logs: a failed log line must not fail a stop, a push's failover or a timer.
 * The methods are still called on `logger` (pino needs its `this`). Wrapping twice wraps once.
 */
export function safeLogger(logger: Logger): Logger {
  if (logger === silentLogger || logger === consoleLogger || guarded.has(logger)) return logger;
  const guard =
    (level: keyof Logger) =>
    (fields: Readonly<Record<string, unknown>>, message: string): void => {
      try {
        logger[level](fields, message);
      } catch {
        // Nowhere left to report it.
      }
    };
  const safe: Logger = Object.freeze({
    error: guard('error'),
    warn: guard('warn'),
    info: guard('info'),
    debug: guard('debug'),
  });
  guarded.add(safe);
  return safe;
}
