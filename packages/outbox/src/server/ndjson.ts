import { isUtf8 } from 'node:buffer';
import { HttpError } from '@q/core/internal';
import { setHeader } from '../message.js';
import { checkHeaderName, idempotencyKey, type ProxyMessage } from './message-input.js';

const FIELDS = new Set(['body', 'bodyBase64', 'key', 'headers', 'idempotencyKey']);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The messages of an NDJSON batch body: one JSON object per line,
 * `{ "body": string } | { "bodyBase64": string }` plus optional `"key": string`,
 * `"headers": { name: string }` and `"idempotencyKey": string`. Blank lines are skipped (they still
 * count in line numbers); `\r\n` line ends are accepted.
 *
 * Lines must be UTF-8 (a byte that is not is refused, never replaced). Every line is checked
 * before anything is returned, so a bad line anywhere means nothing of the
 * batch is stored.
 *
 * @param maxBodyBytes largest decoded body of one message (the single-message route's limit)
 * @param maxMessages most messages of the batch (default: no limit): one more is refused as soon
 * as it is reached, so a huge batch costs no more than parsing `maxMessages` lines
 * @throws {HttpError} 400 `invalid_line` with `line` (1-based) naming the first bad line and its
 * problem, 413 `message_too_large` with `line` for a body over `maxBodyBytes`, 413
 * `too_many_messages` with `limit` past `maxMessages`, 400 `empty_batch` when there is no message.
 */
export function parseBatch(body: Buffer, maxBodyBytes: number, maxMessages = Number.POSITIVE_INFINITY): ProxyMessage[] {
  const messages: ProxyMessage[] = [];
  const keys = new Map<string, number>();
  // One check of the whole body; only a body that fails it is checked line by line, to name the
  // line (a UTF-8 sequence never holds a 0x0a byte, so lines split cleanly).
  const checkLines = !isUtf8(body);
  let start = 0;
  for (let line = 1; start <= body.length; line++) {
    let end = body.indexOf(0x0a, start);
    if (end === -1) end = body.length;
    const stop = end > start && body[end - 1] === 0x0d ? end - 1 : end;
    // toString would replace bytes that are not UTF-8 with U+FFFD: a message other than the one sent.
    if (checkLines && !isUtf8(body.subarray(start, stop)))
      throw invalidLine(line, 'is not valid UTF-8 (binary bodies go in "bodyBase64")');
    const text = body.toString('utf8', start, stop);
    start = end + 1;
    if (text.trim().length === 0) continue;
    if (messages.length === maxMessages)
      throw new HttpError(413, 'too_many_messages', `the batch has more than ${maxMessages} messages: split it`, {
        details: { line, limit: maxMessages },
      });
    const message = parseLine(text, line, maxBodyBytes);
    if (message.idempotencyKey !== undefined) {
      const earlier = keys.get(message.idempotencyKey);
      if (earlier !== undefined) throw invalidLine(line, `idempotencyKey repeats the one of line ${earlier}`);
      keys.set(message.idempotencyKey, line);
    }
    messages.push(message);
  }
  if (messages.length === 0)
    throw new HttpError(400, 'empty_batch', 'the batch has no message (one JSON object per line)');
  return messages;
}

function parseLine(text: string, line: number, maxBodyBytes: number): ProxyMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidLine(line, `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidLine(line, 'not a JSON object');
  const fields = value as Record<string, unknown>;
  // Valid UTF-8 text decodes without lone surrogates; only a \u escape can make one, and UTF-8
  // cannot hold it (it would be stored as U+FFFD): refuse it as any other byte that is not UTF-8.
  if (text.includes('\\u')) checkWellFormed(fields, line);
  for (const name in fields) {
    if (!FIELDS.has(name))
      throw invalidLine(line, `unknown field "${name}" (allowed: body, bodyBase64, key, headers, idempotencyKey)`);
  }
  const message: ProxyMessage = { body: bodyOf(fields, line) };
  if (message.body.length === 0) throw invalidLine(line, 'the body is empty');
  if (message.body.length > maxBodyBytes)
    throw new HttpError(413, 'message_too_large', `line ${line}: the body is over ${maxBodyBytes} bytes`, {
      details: { line, limit: maxBodyBytes },
    });
  if (fields.key !== undefined) {
    if (typeof fields.key !== 'string' || fields.key.length === 0)
      throw invalidLine(line, '"key" must be a non-empty string (leave it out for no key)');
    message.key = fields.key;
  }
  if (fields.headers !== undefined) message.headers = headersOf(fields.headers, line);
  if (fields.idempotencyKey !== undefined) {
    if (typeof fields.idempotencyKey !== 'string') throw invalidLine(line, '"idempotencyKey" must be a string');
    message.idempotencyKey = rewrap(line, () => idempotencyKey(fields.idempotencyKey as string, '"idempotencyKey"'));
  }
  return message;
}

function bodyOf(fields: Record<string, unknown>, line: number): Buffer {
  const { body, bodyBase64 } = fields;
  if (body !== undefined && bodyBase64 !== undefined)
    throw invalidLine(line, 'has both "body" and "bodyBase64": give one');
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body !== undefined) throw invalidLine(line, '"body" must be a string (binary bodies go in "bodyBase64")');
  if (typeof bodyBase64 === 'string') {
    if (!BASE64.test(bodyBase64)) throw invalidLine(line, '"bodyBase64" is not base64 (RFC 4648, with padding)');
    return Buffer.from(bodyBase64, 'base64');
  }
  if (bodyBase64 !== undefined) throw invalidLine(line, '"bodyBase64" must be a string');
  throw invalidLine(line, 'has no "body" (or "bodyBase64")');
}

function headersOf(value: unknown, line: number): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalidLine(line, '"headers" must be an object of strings');
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') throw invalidLine(line, `header "${name}" must be a string`);
    rewrap(line, () => checkHeaderName(name, `header "${name}"`));
    setHeader(headers, name, v);
  }
  return headers;
}

const LONE_SURROGATE = /\p{Cs}/u;

/** Refuses a string of the line's object, or of its headers, that holds a lone UTF-16 surrogate. */
function checkWellFormed(fields: Record<string, unknown>, line: number): void {
  const strings = (o: Record<string, unknown>): unknown[] => [...Object.keys(o), ...Object.values(o)];
  const headers = fields.headers;
  const values = strings(fields);
  if (headers !== null && typeof headers === 'object' && !Array.isArray(headers))
    values.push(...strings(headers as Record<string, unknown>));
  for (const v of values)
    if (typeof v === 'string' && LONE_SURROGATE.test(v))
      throw invalidLine(line, 'has a \\u escape of a lone surrogate: it is not valid UTF-8');
}

/** Runs a check shared with the single-message route, naming the line in its error. */
function rewrap<T>(line: number, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof HttpError) throw invalidLine(line, error.message);
    throw error;
  }
}

function invalidLine(line: number, problem: string): HttpError {
  return new HttpError(400, 'invalid_line', `line ${line}: ${problem}`, { details: { line } });
}
