import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidOptionError } from '@q/core';
import { openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { silent, tempLogDir } from './support/log-dir.js';

describe('cursors', () => {
  it('commit is monotone, seek moves back on purpose, both survive a reopen; cursors are independent', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, logger: silent });
    await log.appendBatch(Array.from({ length: 20 }, (_, i) => `r${i}`));
    const a = await log.cursor('a');
    const b = await log.cursor('b');
    expect(a).toBe(await log.cursor('a'));
    expect(a.position).toBe(0);
    await a.commit(10);
    await a.commit(5);
    expect(a.position).toBe(10);
    await Promise.all([a.commit(12), a.commit(11), a.commit(15)]);
    expect(a.position).toBe(15);
    await b.commit(3);
    await a.seek(2);
    expect([a.position, b.position]).toEqual([2, 3]);
    expect(() => a.commit(21)).toThrow(InvalidOptionError);
    expect(() => a.seek(-1)).toThrow(InvalidOptionError);
    await expect(log.cursor('../x')).rejects.toBeInstanceOf(InvalidOptionError);
    await log.close();
    const again = await openLog({ dir, logger: silent });
    expect((await again.cursor('a')).position).toBe(2);
    expect((await again.cursor('b')).position).toBe(3);
    await again.close();
  });

  it('a torn temp file leaves the previous value', async () => {
    const dir = tempLogDir();
    const log = await openLog({ dir, logger: silent });
    await log.appendBatch(['x', 'y', 'z']);
    await (await log.cursor('c')).commit(2);
    await log.close();
    const file = join(dir, 'cursors', 'c.cur');
    // A write cut short: only part of the new content in the temp file, never renamed.
    writeFileSync(`${file}.tmp`, readFileSync(file).subarray(0, 7));
    const again = await openLog({ dir, logger: silent });
    expect((await again.cursor('c')).position).toBe(2);
    expect(readdirSync(join(dir, 'cursors'))).toEqual(['c.cur']);
    await again.close();
  });
});
