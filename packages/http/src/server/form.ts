import { HttpError } from '@q/core/internal';
import type { FastifyRequest } from 'fastify';

/**
 * A form's fields, each with every value it was given, in the order sent. Names are kept as
 * `latin1` strings of their bytes (one character per byte: exact, and ASCII names read as
 * themselves); values are their bytes.
 */
export type FormFields = Map<string, Buffer[]>;

/** Most parts (fields and files) of one multipart form. */
const MAX_PARTS = 1000;

/**
 * The fields of a push: its body's (a url-encoded or multipart form) then its query string's, as
 * OPQ's `r.Form` has them (a field given in both is given twice). A url-encoded body comes as the
 * bytes it was ({@link parseUrlEncoded} in the content-type parser), so values that are not UTF-8
 * are kept; multipart fields keep their bytes too (see fieldBytes). Files are not form values (OPQ's
 * neither) and are drained unread, their bytes counted toward `maxBodyBytes`.
 * @throws {HttpError} 413 when the fields add up to more than `maxBodyBytes`, 400 for a malformed form.
 */
export async function readForm(request: FastifyRequest, maxBodyBytes: number): Promise<FormFields> {
  const fields: FormFields = new Map();
  const body = request.body;
  if (body instanceof Map) for (const [name, values] of body as FormFields) fields.set(name, [...values]);
  else if (request.isMultipart()) await readMultipart(request, maxBodyBytes, fields);
  const query = request.url.indexOf('?');
  if (query !== -1) addFields(fields, parseUrlEncoded(Buffer.from(request.url.slice(query + 1), 'latin1')));
  return fields;
}

async function readMultipart(request: FastifyRequest, maxBodyBytes: number, fields: FormFields): Promise<void> {
  const limit = tooLarge(maxBodyBytes);
  let bytes = 0;
  const parts = request.parts({
    limits: { fieldSize: maxBodyBytes, fileSize: maxBodyBytes, parts: MAX_PARTS },
    // A part without a charset is read byte for byte (latin1 is one character per byte), so a value
    // keeps the bytes it was sent with, as OPQ's Go form does: see fieldBytes.
    defCharset: 'latin1',
  } as Parameters<FastifyRequest['parts']>[0]);
  try {
    for await (const part of parts) {
      if (part.type === 'file') {
        // Drained unread, but counted: the body limit holds for the whole form, files included.
        for await (const chunk of part.file) {
          bytes += (chunk as Buffer).length;
          if (bytes > maxBodyBytes) throw limit;
        }
        continue;
      }
      // A part sent as application/json comes parsed: store the text it was.
      const value = typeof part.value === 'string' ? part.value : JSON.stringify(part.value);
      bytes += Buffer.byteLength(part.fieldname) + Buffer.byteLength(value);
      if (part.valueTruncated || part.fieldnameTruncated || bytes > maxBodyBytes) throw limit;
      add(fields, Buffer.from(part.fieldname, 'utf8').toString('latin1'), fieldBytes(value));
    }
  } catch (error) {
    // Busboy's own errors (no boundary, a part cut short) carry no status: the form was malformed.
    if (error instanceof HttpError || typeof (error as { statusCode?: unknown }).statusCode === 'number') throw error;
    throw new HttpError(400, 'invalid_form', `the multipart form is malformed: ${(error as Error).message}`);
  }
}

/**
 * A multipart value's bytes. Busboy read a part without a declared charset as latin1, one character
 * per byte, so those are its bytes exactly. A part that declared a charset (rare: browsers, curl,
 * Go and Python send none) was decoded with it; a character above U+00FF shows it, and its UTF-8
 * is what it was sent as when the charset was UTF-8. Left ambiguous: a part declaring UTF-8 whose
 * text is all in U+0080-U+00FF reads as latin1 bytes.
 */
function fieldBytes(value: string): Buffer {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the test is for any character above U+00FF
  return /[^\u0000-\u00ff]/.test(value) ? Buffer.from(value, 'utf8') : Buffer.from(value, 'latin1');
}

function add(fields: FormFields, name: string, value: Buffer): void {
  const values = fields.get(name);
  if (values === undefined) fields.set(name, [value]);
  else values.push(value);
}

function addFields(into: FormFields, from: FormFields): void {
  for (const [name, values] of from) for (const value of values) add(into, name, value);
}

const PLUS = 0x2b;
const PERCENT = 0x25;

/**
 * `application/x-www-form-urlencoded` bytes to fields, byte for byte: `+` is a space, `%XX` the byte
 * XX, any other byte itself (no UTF-8 decoding, so nothing is replaced). Split on `&`, empty pairs
 * skipped, a pair without `=` a field with an empty value; a `%` not followed by two hex digits is
 * kept as it is (as WHATWG's parser does).
 */
export function parseUrlEncoded(bytes: Buffer): FormFields {
  const fields: FormFields = new Map();
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x26, start);
    if (end === -1) end = bytes.length;
    if (end > start) {
      let eq = bytes.indexOf(0x3d, start);
      if (eq === -1 || eq > end) eq = end;
      const name = percentDecode(bytes.subarray(start, eq)).toString('latin1');
      add(fields, name, percentDecode(bytes.subarray(Math.min(eq + 1, end), end)));
    }
    start = end + 1;
  }
  return fields;
}

function hex(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

function percentDecode(bytes: Buffer): Buffer {
  if (!bytes.includes(PLUS) && !bytes.includes(PERCENT)) return Buffer.from(bytes);
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte === PLUS) out[n++] = 0x20;
    else if (byte === PERCENT && hex(bytes[i + 1]) !== -1 && hex(bytes[i + 2]) !== -1) {
      out[n++] = hex(bytes[i + 1]) * 16 + hex(bytes[i + 2]);
      i += 2;
    } else out[n++] = byte;
  }
  return out.subarray(0, n);
}

/** Go's `url.QueryEscape`, on bytes: A-Z a-z 0-9 `-_.~` as they are, space as `+`, the rest `%XX`. */
function queryEscape(bytes: Buffer): string {
  let out = '';
  for (const byte of bytes) {
    const unreserved =
      (byte >= 0x30 && byte <= 0x39) ||
      ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a) ||
      byte === 0x2d ||
      byte === 0x5f ||
      byte === 0x2e ||
      byte === 0x7e;
    if (unreserved) out += String.fromCharCode(byte);
    else if (byte === 0x20) out += '+';
    else out += `%${byte < 16 ? '0' : ''}${byte.toString(16).toUpperCase()}`;
  }
  return out;
}

/**
 * What OPQ POSTs to the target: the single-valued fields (its own `topic` and `url` included) as
 * Go's `url.Values.Encode()` writes them, sorted by name (bytes) and escaped by `QueryEscape`.
 * Repeated fields are dropped, as OPQ drops them.
 */
export function encodeSingleValued(fields: FormFields): Buffer {
  // Latin-1 names compare by their bytes, as Go's sort.Strings does.
  const names = [...fields.keys()].filter((name) => fields.get(name)?.length === 1).sort();
  const pairs = names.map(
    (name) => `${queryEscape(Buffer.from(name, 'latin1'))}=${queryEscape((fields.get(name) as Buffer[])[0] as Buffer)}`,
  );
  return Buffer.from(pairs.join('&'), 'latin1');
}

/** 413 `body_too_large`. */
export function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'body_too_large', `the body is over ${limit} bytes`, { details: { limit } });
}
