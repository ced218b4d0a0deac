import type { Logger } from '@q/core';

/** The levels of {@link jsonLogger}, least to most verbose. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * A {@link Logger} writing one JSON object per line (`time`, `level`, `msg`, then the fields) to
 * `stream`, dropping levels more verbose than `level`. Errors in fields are written as their name,
 * message, code and cause, with the stack on error lines and at level debug.
 */
export function jsonLogger(stream: NodeJS.WritableStream, level: LogLevel): Logger {
  const rank = LOG_LEVELS.indexOf(level);
  const write =
    (at: LogLevel) =>
    (fields: Readonly<Record<string, unknown>>, msg: string): void => {
      if (LOG_LEVELS.indexOf(at) > rank) return;
      const stack = at === 'error' || level === 'debug';
      const line = { time: new Date().toISOString(), level: at, msg, ...fields };
      let text: string;
      try {
        text = JSON.stringify(line, (_key, value) =>
          value instanceof Error ? errorFields(value, stack) : typeof value === 'bigint' ? String(value) : value,
        );
      } catch {
        // A field that cannot be written (a cycle) must not cost the line.
        text = JSON.stringify({ time: line.time, level: at, msg, fields: 'unserializable' });
      }
      stream.write(`${text}\n`);
    };
  return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug') };
}

function errorFields(error: Error, stack: boolean): Record<string, unknown> {
  const code = (error as { code?: unknown }).code;
  const { cause } = error;
  return {
    name: error.name,
    message: error.message,
    ...(code === undefined ? {} : { code }),
    ...(cause === undefined ? {} : { cause: cause instanceof Error ? errorFields(cause, false) : cause }),
    ...(stack ? { stack: error.stack } : {}),
  };
}
