// A dead letter is always stored, whatever the size of the refused message's headers and key: as it was
// when it fits the log's 64 KiB header bound beside the dead letter's own headers, else with the headers
// and key in a JSON envelope at the start of the body, else (too large for the dead-letter log even so)
// without the message, marked q-truncated. A real @q/log in a temp dir.
import { type LogRecord, openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { DeadLetters } from '../src/dead-letter.js';
import { DEAD_LETTER_ENVELOPE_HEADER, DEAD_LETTER_TRUNCATED_HEADER } from '../src/index.js';
import { SinkMessage } from '../src/sink-message.js';
import { tempDir } from './support/fixtures.js';

const open: DeadLetters[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

function deadLetters(dir: string, maxRecordBytes = 16 * 1024 * 1024): DeadLetters {
  const d = new DeadLetters(dir, { maxRecordBytes });
  open.push(d);
  return d;
}

/** The one dead letter stored in `dir` (the DeadLetters closed first). */
async function stored(dir: string): Promise<LogRecord> {
  const d = open.pop() as DeadLetters;
  await d.close();
  const log = await openLog({ dir: `${dir}/dead-letter` });
  try {
    const records = await log.read(0, { max: 10 });
    expect(records).toHaveLength(1);
    return records[0] as LogRecord;
  } finally {
    await log.close();
  }
}

const refusal = { cause: Object.assign(new Error('too large'), { code: 'Q_MESSAGE_TOO_LARGE' }), attempts: 3 };

describe('dead letters of any size', () => {
  it('small: stored whole, with q-key and the cause', async () => {
    const dir = tempDir('dl-env');
    const msg = new SinkMessage(Buffer.from('body'), { h: 'v', 'q-outbox-id': 'o:7' }, Buffer.from('k'), 'o', 7);
    expect(await deadLetters(dir).add(msg, refusal)).toEqual({ form: 'whole' });
    const r = await stored(dir);
    expect(r.body.toString()).toBe('body');
    expect(r.headers).toMatchObject({
      h: 'v',
      'q-outbox-id': 'o:7',
      'q-key': Buffer.from('k').toString('base64'),
      'q-error': 'too large',
      'q-error-code': 'Q_MESSAGE_TOO_LARGE',
      'q-attempts': '3',
    });
    expect(r.headers[DEAD_LETTER_ENVELOPE_HEADER]).toBeUndefined();
  });

  it('headers and key past the 64 KiB bound: an envelope holds them, the body follows byte for byte', async () => {
    const dir = tempDir('dl-env');
    const body = Buffer.from([0, 1, 2, 255, 10]);
    const key = Buffer.alloc(40_000, 7);
    const headers = { h: 'x'.repeat(30_000), ['__proto__']: 'p', 'q-outbox-id': 'o:8' };
    const msg = new SinkMessage(body, headers, key, 'o', 8);
    expect(await deadLetters(dir).add(msg, { ...refusal, cause: new Error('e'.repeat(5000)) })).toEqual({
      form: 'envelope',
    });
    const r = await stored(dir);
    const n = Number(r.headers[DEAD_LETTER_ENVELOPE_HEADER]);
    const envelope = JSON.parse(r.body.subarray(0, n).toString()) as {
      headers: Record<string, string>;
      key: string;
    };
    expect(envelope.headers.h).toBe('x'.repeat(30_000));
    expect(Object.getOwnPropertyDescriptor(envelope.headers, '__proto__')?.value).toBe('p');
    expect(envelope.headers['q-outbox-id']).toBeUndefined();
    expect(Buffer.from(envelope.key, 'base64').equals(key)).toBe(true);
    expect(r.body.subarray(n).equals(body)).toBe(true);
    expect(r.headers['q-outbox-id']).toBe('o:8');
    expect(r.headers['q-error']).toBe(`${'e'.repeat(1024)}...`);
    expect(r.headers.h).toBeUndefined();
  });

  it('too large for the dead-letter log even so: stored without the message, marked q-truncated', async () => {
    const dir = tempDir('dl-env');
    const msg = new SinkMessage(Buffer.alloc(20_000, 1), { 'q-outbox-id': 'o:9' }, undefined, 'o', 9);
    const result = await deadLetters(dir, 10_000).add(msg, refusal);
    expect(result.form).toBe('truncated');
    const r = await stored(dir);
    expect(r.body.length).toBe(0);
    expect(r.headers).toMatchObject({
      'q-outbox-id': 'o:9',
      'q-error': 'too large',
      [DEAD_LETTER_TRUNCATED_HEADER]: 'body,headers,key',
    });
  });
});
