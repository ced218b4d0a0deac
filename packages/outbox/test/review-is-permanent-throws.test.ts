// Review finding: a user's isPermanent that throws (here: reading `code` of an error that has none)
// is called unguarded. In write-ahead the forwarder's loop dies with an unhandled rejection (which ends
// a Node process by default), nothing is forwarded any more, and close() rejects with that error
// without closing the log (its LOCK stays held). In direct-first the batch in flight is never settled:
// its send stays pending forever, after close() too.
import { describe, expect, it } from 'vitest';
import { outcomeWithin } from '../../../test-support/wait.js';
import { Outbox } from '../src/index.js';
import { failFastClient, listBodies, redisSink, silentLogger, tempDir } from './support/fixtures.js';

const throwingIsPermanent = (error: unknown): boolean => (error as { code: string }).code.startsWith('Q_');

describe('review: an isPermanent that throws', () => {
  for (const mode of ['write-ahead', 'direct-first'] as const) {
    it(`${mode}: the send settles, close() resolves and releases the directory, the message is forwarded later`, async () => {
      const dir = tempDir('review-permanent');
      const down = redisSink({ redis: failFastClient('redis://127.0.0.1:1') }); // every push fails, without a code
      const outbox = new Outbox({
        dir,
        sink: down.sink,
        mode,
        logger: silentLogger,
        directTimeoutMs: 300,
        retry: { minDelayMs: 10, maxDelayMs: 50 },
        isPermanent: throwingIsPermanent,
      });
      await outbox.ready();
      const sent = outbox.send('kept');
      expect(await outcomeWithin(sent, 3000)).toBe('resolved');
      expect(await outcomeWithin(outbox.close({ timeoutMs: 200 }), 3000)).toBe('resolved');

      // The directory is free again, and what was accepted is forwarded by the next open.
      const up = redisSink();
      const again = new Outbox({ dir, sink: up.sink, logger: silentLogger });
      await again.ready();
      await again.close({ timeoutMs: 5000 });
      expect(await listBodies(up.redis, up.key)).toEqual(['kept']);
      await up.sink.close();
    });
  }
});
