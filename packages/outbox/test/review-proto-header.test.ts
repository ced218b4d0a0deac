// Review finding: a header named "__proto__" (as JSON.parse or the proxy's q-header-__proto__ gives it)
// is copied with a plain assignment, which sets the copy's prototype instead: the header is silently
// dropped, while the send resolves. @q/log keeps such a header (defineProperty); the outbox should keep
// it too, or refuse it.
import { InvalidOptionError } from '@q/core';
import { openLog } from '@q/log';
import { describe, expect, it } from 'vitest';
import { Outbox } from '../src/index.js';
import { failFastClient, redisSink, silentLogger, tempDir } from './support/fixtures.js';

describe('review: a header named __proto__', () => {
  it('is stored with the message, or refused; never silently dropped', async () => {
    const dir = tempDir('review-proto');
    const { sink } = redisSink({ redis: failFastClient('redis://127.0.0.1:1') }); // down: the record stays in the log
    const outbox = new Outbox({ dir, sink, logger: silentLogger });
    const headers = JSON.parse('{"__proto__":"p","a":"b"}') as Record<string, string>;
    const outcome = await outbox.send('m', { headers }).then(
      () => 'resolved',
      (err: unknown) => err,
    );
    await outbox.close({ timeoutMs: 100 });
    if (outcome !== 'resolved') {
      expect(outcome).toBeInstanceOf(InvalidOptionError);
      return;
    }
    const log = await openLog({ dir });
    const [record] = await log.read(0);
    await log.close();
    expect(Object.getOwnPropertyNames(record?.headers ?? {}).sort()).toEqual(['__proto__', 'a']);
  });
});
