import { InvalidOptionError } from '@q/core';
import { RecordTooLargeError } from './errors.js';
import { headersBytes, MAX_HEADERS_BYTES } from './format.js';
import type { PreparedRecord } from './group-commit.js';
import type { AppendInput } from './record.js';

/** Checks one input and measures it, so the writer only copies bytes. */
export function prepareRecord(
  input: AppendInput,
  extraHeaders: Readonly<Record<string, string>> | undefined,
  maxRecordBytes: number,
): PreparedRecord {
  let body: Buffer | string;
  let headers: Readonly<Record<string, string>> | undefined = extraHeaders;
  if (typeof input === 'string' || Buffer.isBuffer(input)) body = input;
  else if (
    typeof input === 'object' &&
    input !== null &&
    (typeof input.body === 'string' || Buffer.isBuffer(input.body))
  ) {
    body = input.body;
    if (input.headers !== undefined) headers = extraHeaders ? { ...input.headers, ...extraHeaders } : input.headers;
  } else throw new InvalidOptionError('body', input, 'a Buffer, a string or { body, headers? }');
  let hLen = 0;
  if (headers !== undefined) {
    if (typeof headers !== 'object' || headers === null)
      throw new InvalidOptionError('headers', headers, 'an object of strings');
    for (const key in headers)
      if (typeof headers[key] !== 'string') throw new InvalidOptionError(`headers.${key}`, headers[key], 'a string');
    hLen = headersBytes(headers);
    if (hLen > MAX_HEADERS_BYTES)
      throw new InvalidOptionError('headers', `${hLen} bytes encoded`, `at most ${MAX_HEADERS_BYTES} bytes encoded`);
    if (hLen === 0) headers = undefined;
  }
  const bLen = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (bLen + hLen > maxRecordBytes) throw new RecordTooLargeError(bLen + hLen, maxRecordBytes);
  return { body, headers, hLen, bLen };
}
