import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs an example the way `pnpm demo` does: node with the tsx loader and the workspace sources. */
function runExample(file: string, env: Record<string, string> = {}): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, ['--conditions=@q/source', '--import', 'tsx', file], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout + r.stderr };
}

describe('examples run as written', () => {
  it('quickstart: 1,000,000 messages through a Queue, then 20,000 through Kafka, counted by id', () => {
    const r = runExample('examples/quickstart.ts', { DEMO_KAFKA_MESSAGES: '20000' });
    expect(r.stdout).toContain('zero-loss check: OK');
    expect(r.stdout).toMatch(
      /produced 1000000, consumed 1000000, settled back to the source 1000000, missing 0, duplicates 0/,
    );
    expect(r.stdout).toMatch(/a @q\/kafka-testkit broker in its own process \(pid \d+\): 20,000 messages/);
    // Distinct ids, missing and duplicates apart; redeliveries after a rebalance are allowed, loss is not.
    expect(r.stdout).toMatch(/distinct 20,000 of 20,000, missing 0, duplicates \d+/);
    expect(r.stdout).toMatch(/committed offsets: [\d,]+ of 20,000/);
    expect(r.stdout).toContain('what bounds the rate: CPU of this process');
    expect(r.stdout).toContain('Kafka zero-loss check: OK, every message arrived');
    expect(r.status).toBe(0);
  }, 180_000);

  it('batch-writes: every record written, confirms resolved', () => {
    const r = runExample('examples/batch-writes.ts');
    expect(r.stdout).toContain('batch writes: 100000 records in');
    expect(r.stdout).toContain('50000 confirmed');
    expect(r.status).toBe(0);
  }, 60_000);

  it('webhooks: every event delivered or dead-lettered, signatures verified, a replay to a second URL', () => {
    const r = runExample('examples/webhooks.ts');
    expect(r.stdout).toMatch(
      /webhooks: 999 of 1000 delivered, 1 dead letter \(rejected, HTTP 400: "unknown event type"\)/,
    );
    expect(r.stdout).toMatch(
      /\d+ retried with the same id, 0 bad signatures; replay of 0\.\.9 sent 10 \(cursor at 1000\)/,
    );
    expect(r.stdout).toContain('webhooks check: OK');
    expect(r.status).toBe(0);
  }, 60_000);

  it("redis-at-least-once: every pushed message consumed (against the run's redis-server)", () => {
    const r = runExample('examples/redis-at-least-once.ts', { REDIS_URL: inject('redisUrl') });
    expect(r.stdout).toContain('redis example: 10000 of 10000 messages consumed at least once');
    expect(r.status).toBe(0);
  }, 60_000);

  it("amqp-orders: confirmed publishes, a refused unroutable one, poison orders dead-lettered after the delivery limit (against the run's RabbitMQ)", () => {
    const r = runExample('examples/amqp-orders.ts', { AMQP_URL: inject('amqpUrl') });
    expect(r.stdout).toContain(
      'amqp example: 10000 orders published with confirms; a publish to no queue: UnroutableError',
    );
    expect(r.stdout).toContain(
      '9990 handled, 10 dead-lettered after the delivery limit (x-death reason delivery_limit)',
    );
    expect(r.stdout).toContain('amqp check: OK');
    expect(r.status).toBe(0);
  }, 120_000);
});
