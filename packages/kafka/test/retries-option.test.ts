import { InvalidOptionError, silentLogger } from '@q/core';
import { KafkaPusher } from '@q/kafka';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../test-support/free-port.js';

describe('retries: how long an unreachable broker is retried', () => {
  it('refuses a value that is not an integer from 0 to 1000, naming the option, at construction', () => {
    for (const retries of [-1, 1.5, 1001]) {
      expect(() => new KafkaPusher({ brokers: ['127.0.0.1:1'], topic: 't', retries, logger: silentLogger })).toThrow(
        InvalidOptionError,
      );
      expect(() => new KafkaPusher({ brokers: ['127.0.0.1:1'], topic: 't', retries, logger: silentLogger })).toThrow(
        /"retries"/,
      );
    }
  });

  it('with retries 0 and one reconnect attempt, a push to a port where nothing listens rejects (it never resolves)', async () => {
    const port = await freePort();
    const pusher = new KafkaPusher({
      brokers: [`127.0.0.1:${port}`],
      topic: 't',
      retries: 0,
      reconnect: { attempts: 1 },
      logger: silentLogger,
    });
    await expect(pusher.pushAndConfirm(Buffer.from('x'))).rejects.toThrow(/ECONNREFUSED|connect/i);
    await pusher.close({ timeoutMs: 1_000 }).catch(() => undefined);
  }, 20_000);
});
