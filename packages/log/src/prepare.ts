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
    // The writer encodes the group after append() returned: it gets its own copy, measured here, so a caller
    // changing its object meanwhile cannot make the encoded headers disagree with this length (an
    // acknowledged frame failing its check, or an overrun of the group's buffer: review finding). Bodies need
    // no copy: a Buffer's length cannot change, so changed bytes are stored as they are, CRC and all.
    const copy: Record<string, string> = {};
    for (const key in headers) {
      const value = headers[key];
      if (typeof value !== 'string') throw new InvalidOptionError(`headers.${key}`, value, 'a string');
      if (key === '__proto__')
        Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
      else copy[key] = value;
    }
    headers = copy;
    hLen = headersBytes(headers);
    if (hLen > MAX_HEADERS_BYTES)
      throw new InvalidOptionError('headers', `${hLen} bytes encoded`, `at most ${MAX_HEADERS_BYTES} bytes encoded`);
    if (hLen === 0) headers = undefined;
  }
  const bLen = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (bLen + hLen > maxRecordBytes) throw new RecordTooLargeError(bLen + hLen, maxRecordBytes);
  return { body, headers, hLen, bLen };
}
