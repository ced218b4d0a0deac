// Review (second round) of the dead-letter envelope (1b19fd2): a message's own headers may be named like
// the dead letter's (q-error, q-key, q-envelope-bytes, q-truncated: only q-outbox-* and q-idempotency-key
// are reserved for sends). Stored "whole", they are overwritten by the dead letter's own (the user's
// value is lost), or they make a reader take the body for an envelope (the body and headers come back
// wrong). A dead letter must give back, read as docs/outbox.md describes, the message as it was.
import { type LogRecord, openLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { DeadLetters } from '../src/dead-letter.js';
import { DEAD_LETTER_ENVELOPE_HEADER } from '../src/index.js';
import { SinkMessage } from '../src/sink-message.js';
import { tempDir } from './support/fixtures.js';

const open: DeadLetters[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

const OWN = new Set(['q-outbox-id', 'q-error', 'q-error-code', 'q-attempts', 'q-dead-lettered-at', 'q-key']);

/** The message as a reader following docs/outbox.md gets it back from a dead letter. */
function decode(r: LogRecord): { body: string; headers: Record<string, string>; key: string } {
  const n = r.headers[DEAD_LETTER_ENVELOPE_HEADER];
  if (n !== undefined) {
    const env = JSON.parse(r.body.subarray(0, Number(n)).toString()) as {
      headers: Record<string, string>;
      key: string;
    };
    return { body: r.body.subarray(Number(n)).toString(), headers: env.headers, key: env.key };
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (!OWN.has(k)) headers[k] = v;
  return { body: r.body.toString(), headers, key: r.headers['q-key'] as string };
}

async function roundTrip(headers: Record<string, string>): Promise<ReturnType<typeof decode>> {
  const dir = tempDir('dl-reserved');
  const d = new DeadLetters(dir, { maxRecordBytes: 1024 * 1024 });
  open.push(d);
  const msg = new SinkMessage(
    Buffer.from('hello body'),
    { ...headers, 'q-outbox-id': 'o:7' },
    Buffer.from('k'),
    'o',
    7,
  );
  await d.add(msg, { cause: new Error('refused'), attempts: 1 });
  await d.close();
  const log = await openLog({ dir: `${dir}/dead-letter` });
  try {
    const [r] = await log.read(0, { max: 10 });
    return decode(r as LogRecord);
  } finally {
    await log.close();
  }
}

describe('a dead letter of a message with headers named like the dead letter own', () => {
  it('q-envelope-bytes: the body is not mistaken for an envelope', async () => {
    // Throws (the body is not JSON) or gives back another body.
    const got = await roundTrip({ [DEAD_LETTER_ENVELOPE_HEADER]: '5', app: 'x' });
    expect(got.body).toBe('hello body');
    expect(got.headers).toEqual({ [DEAD_LETTER_ENVELOPE_HEADER]: '5', app: 'x' });
  });

  it('q-error / q-key: the message own values are kept', async () => {
    const got = await roundTrip({ 'q-error': 'mine', 'q-key': 'also mine' });
    expect(got.headers).toEqual({ 'q-error': 'mine', 'q-key': 'also mine' });
    expect(got.key).toBe(Buffer.from('k').toString('base64'));
  });
});
