import type { FastifyRequest } from 'fastify';
import { HttpError } from './http-error.js';

/** A form's fields in the order sent, each with every value it was given. */
export type FormFields = Map<string, string[]>;

/** Most parts (fields and files) of one multipart form. */
const MAX_PARTS = 1000;

/**
 * The fields of a url-encoded or multipart form. A url-encoded body was parsed by
 * `@fastify/formbody` (its parser gives `URLSearchParams`, which keeps the order and repeats); a
 * multipart one is read here, part by part: files are not form values (OPQ's neither) and are
 * drained unread.
 * @throws {HttpError} 413 when the fields add up to more than `maxBodyBytes`, 400 for a malformed form.
 */
export async function readForm(request: FastifyRequest, maxBodyBytes: number): Promise<FormFields> {
  const fields: FormFields = new Map();
  const add = (name: string, value: string): void => {
    const values = fields.get(name);
    if (values === undefined) fields.set(name, [value]);
    else values.push(value);
  };
  if (!request.isMultipart()) {
    const body = request.body;
    if (body instanceof URLSearchParams) for (const [name, value] of body) add(name, value);
    return fields;
  }
  const limit = tooLarge(maxBodyBytes);
  let bytes = 0;
  const parts = request.parts({
    limits: { fieldSize: maxBodyBytes, fileSize: maxBodyBytes, parts: MAX_PARTS },
  });
  try {
    for await (const part of parts) {
      if (part.type === 'file') {
        part.file.resume();
        await new Promise<void>((resolve, reject) => {
          part.file.once('end', resolve).once('error', reject);
        });
        continue;
      }
      // A part sent as application/json comes parsed: store the text it was.
      const value = typeof part.value === 'string' ? part.value : JSON.stringify(part.value);
      bytes += Buffer.byteLength(part.fieldname) + Buffer.byteLength(value);
      if (part.valueTruncated || part.fieldnameTruncated || bytes > maxBodyBytes) throw limit;
      add(part.fieldname, value);
    }
  } catch (error) {
    // Busboy's own errors (no boundary, a part cut short) carry no status: the form was malformed.
    if (error instanceof HttpError || typeof (error as { statusCode?: unknown }).statusCode === 'number') throw error;
    throw new HttpError(400, 'invalid_form', `the multipart form is malformed: ${(error as Error).message}`);
  }
  return fields;
}

/**
 * The url-encoded form of the single-valued fields, in the order sent: what OPQ POSTs to the target
 * (its own fields `topic` and `url` included). Repeated fields are dropped, as OPQ does.
 */
export function encodeSingleValued(fields: FormFields): Buffer {
  const out = new URLSearchParams();
  for (const [name, values] of fields) if (values.length === 1) out.append(name, values[0] as string);
  return Buffer.from(out.toString(), 'utf8');
}

/** 413 `body_too_large`. */
export function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'body_too_large', `the body is over ${limit} bytes`, { details: { limit } });
}
