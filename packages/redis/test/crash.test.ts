import { describe, expect, inject, it } from 'vitest';
import { client, uniqueKey } from './support/clients.js';
import { crashRun } from './support/crash-run.js';

describe('at-least-once through crashes', () => {
  it('a worker SIGKILLed 3 times during 200,000 messages: every message consumed, duplicates <= what it held', async () => {
    const redis = client();
    const report = await crashRun(
      redis,
      { url: inject('redisUrl'), keys: [uniqueKey('crash')], leaseMs: 1000 },
      200_000,
      3,
    );
    console.log('crash run:', report);
    expect(report.distinct).toBe(report.sent);
    expect(report.duplicates).toBeLessThanOrEqual(report.heldAtKills);
    expect(report.heldAtKills).toBeGreaterThan(0);
  }, 180_000);
});
