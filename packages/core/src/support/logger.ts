/**
 * Where `@q` writes what it has to say. Pass your own (pino, winston and console all fit) through the
 * `logger` option; nothing in `@q` logs message bodies.
 */
export interface Logger {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

const noop = (): void => {};

/** A logger that drops everything. */
export const silentLogger: Logger = Object.freeze({ error: noop, warn: noop, info: noop, debug: noop });

/** The default logger: warnings and errors to the console, nothing else. */
export const consoleLogger: Logger = Object.freeze({
  error: (message: string, meta?: Record<string, unknown>) => console.error(`[q] ${message}`, meta ?? ''),
  warn: (message: string, meta?: Record<string, unknown>) => console.warn(`[q] ${message}`, meta ?? ''),
  info: noop,
  debug: noop,
});
