import { OUTBOX_ID_HEADER } from '@q/core';
import { OUTBOX_ID } from '@q/core/internal';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { dedupeWriter, type OutboxEntry } from '../src/list-writer.js';

// `@q/outbox` hands its sink each message's outbox id taken apart already (under OUTBOX_ID), so the
// de-duplicating writer need not parse `q-outbox-id` per message; it uses it only while the header still
// reads the same id, and parses the header otherwise.
describe('the dedupe writer and a message whose outbox id is known', () => {
  const counters = { written: 0, duplicatesSkipped: 0, rejected: 0, dropped: 0 };
  // item() only reads the message: the client is never asked anything.
  const writer = dedupeWriter(new Redis({ lazyConnect: true }), 'k', 'k:hw', counters);

  it('takes the known id when the header reads the same (no parse)', () => {
    const id = 'box-1:41';
    // Parts the header would not give, so the test tells which was used.
    const message = { body: 'x', headers: { [OUTBOX_ID_HEADER]: id }, [OUTBOX_ID]: { id, outbox: 'known', seq: 7 } };
    const entry = writer.item(message) as OutboxEntry;
    expect([entry.outbox, entry.seq]).toEqual(['known', 7]);
  });

  it('parses the header when it was changed after the id was attached', () => {
    const message = {
      body: 'x',
      headers: { [OUTBOX_ID_HEADER]: 'box-2:99' },
      [OUTBOX_ID]: { id: 'box-1:41', outbox: 'box-1', seq: 41 },
    };
    const entry = writer.item(message) as OutboxEntry;
    expect([entry.outbox, entry.seq]).toEqual(['box-2', 99]);
  });
});
