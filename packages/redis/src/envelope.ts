import { InvalidOptionError } from '@q/core';

/**
 * Redis lists carry bare bodies, with no room for metadata such as a W3C `traceparent`. An envelope
 * puts string headers in front of the body, in the same list item:
 *
 * ```text
 * \0q1 {"traceparent":"00-…-01"} \n <body>
 * ```
 *
 * that is, the 3-byte magic `\0q1` (a NUL byte, then `q1`), the headers as one line of JSON (JSON
 * escapes every newline inside strings, so the first `\n` ends it), a newline, and the body exactly
 * as given (string or bytes). Text bodies rarely start with a NUL byte, so enveloped and bare bodies
 * can share a list: {@link unwrapEnvelope} returns a bare body unchanged, with no headers. A body
 * that itself starts with the magic is always enveloped by {@link wrapEnvelope} (with empty headers
 * if need be), so a wrap-unwrap round trip gives back every body as it was.
 */
export const ENVELOPE_MAGIC = '\u0000q1';

const MAGIC_BYTES = Buffer.from(ENVELOPE_MAGIC, 'latin1');
const NEWLINE = 0x0a;
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** A body taken out of its envelope, with the headers it carried (none for a bare body). */
export interface Envelope<B extends string | Buffer = string | Buffer> {
  /** The body as it was pushed. */
  readonly body: B;
  /** The envelope's headers; an empty object for a body that was not enveloped. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Puts `headers` in front of `body` (see {@link ENVELOPE_MAGIC} for the format). With no headers the
 * body is returned as it is, unless it starts with the magic (then it is enveloped, so that unwrapping
 * it cannot mistake it for an envelope). A string stays a string, a Buffer a Buffer.
 *
 * @throws {InvalidOptionError} when `headers` is not an object whose values are all strings.
 */
export function wrapEnvelope(body: string, headers: Readonly<Record<string, string>>): string;
export function wrapEnvelope(body: Buffer, headers: Readonly<Record<string, string>>): Buffer;
export function wrapEnvelope(body: string | Buffer, headers: Readonly<Record<string, string>>): string | Buffer;
export function wrapEnvelope(body: string | Buffer, headers: Readonly<Record<string, string>>): string | Buffer {
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
    throw new InvalidOptionError('headers', headers, 'an object of string values');
  }
  let empty = true;
  for (const name in headers) {
    if (typeof headers[name] !== 'string') {
      throw new InvalidOptionError(`headers.${name}`, headers[name], 'a string');
    }
    empty = false;
  }
  if (empty && !startsWithMagic(body)) return body;
  const head = `${ENVELOPE_MAGIC}${JSON.stringify(headers)}\n`;
  return typeof body === 'string' ? head + body : Buffer.concat([Buffer.from(head), body]);
}

/**
 * Takes a body out of its envelope. A body without the magic, or with the magic but no well-formed
 * header line (someone else's bytes), is returned unchanged with no headers: unwrapping never
 * throws, so a consumer can read lists where only some producers envelope. A Buffer's body is a view
 * of the same memory (no copy).
 */
export function unwrapEnvelope(body: string): Envelope<string>;
export function unwrapEnvelope(body: Buffer): Envelope<Buffer>;
export function unwrapEnvelope(body: string | Buffer): Envelope;
export function unwrapEnvelope(body: string | Buffer): Envelope {
  if (!startsWithMagic(body)) return { body, headers: NO_HEADERS };
  const start = ENVELOPE_MAGIC.length;
  const end = typeof body === 'string' ? body.indexOf('\n', start) : body.indexOf(NEWLINE, start);
  if (end < 0) return { body, headers: NO_HEADERS };
  const headers = parseHeaders(typeof body === 'string' ? body.slice(start, end) : body.toString('utf8', start, end));
  if (headers === undefined) return { body, headers: NO_HEADERS };
  return { body: typeof body === 'string' ? body.slice(end + 1) : body.subarray(end + 1), headers };
}

/** Whether `body` starts with {@link ENVELOPE_MAGIC} (it may still be malformed). */
export function isEnveloped(body: string | Buffer): boolean {
  return startsWithMagic(body);
}

function startsWithMagic(body: string | Buffer): boolean {
  if (typeof body === 'string') return body.startsWith(ENVELOPE_MAGIC);
  return body.length >= MAGIC_BYTES.length && body[0] === 0 && body[1] === MAGIC_BYTES[1] && body[2] === MAGIC_BYTES[2];
}

function parseHeaders(json: string): Record<string, string> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  for (const value of Object.values(parsed)) if (typeof value !== 'string') return undefined;
  return parsed as Record<string, string>;
}
