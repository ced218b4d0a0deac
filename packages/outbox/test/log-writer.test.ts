// The LogWriter's safety net: when the log refuses one record's shape (a check of the outbox's let it
// through), only the send it came from fails, not every send written in the same group.
import { InvalidOptionError } from '@q/core';
import { openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { LogWriter } from '../src/log-writer.js';
import { type Accepted, acceptBody } from '../src/message.js';
import { BacklogMeter } from '../src/stats.js';
import { tempDir } from './support/fixtures.js';

describe('LogWriter', () => {
  it('a record the log refuses fails only its own send; the others of its group are stored', async () => {
    const log = await openLog({ dir: tempDir('log-writer') });
    const writer = new LogWriter(log, undefined, new BacklogMeter(), Number.POSITIVE_INFINITY, () => undefined);
    const good = (i: number): Accepted => acceptBody(`ok-${i}`, 1024 * 1024);
    // Headers over the log's 65,535-byte bound, as accept() would never let through.
    const bad: Accepted = { ...acceptBody('bad', 1024 * 1024), headers: { big: 'x'.repeat(70_000) } };
    const sends = [
      writer.append([good(0)], undefined),
      writer.append([bad], undefined),
      writer.append([good(1)], undefined),
    ];
    const results = await Promise.allSettled(sends);
    const records = await log.read(0);
    await log.close();
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(InvalidOptionError);
    expect(records.map((r) => r.body.toString())).toEqual(['ok-0', 'ok-1']);
  });
});
