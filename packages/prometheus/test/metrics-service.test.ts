import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { parseExposition, sampleValue } from './support/exposition.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Service {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | null>;
}

/** Starts examples/metrics-service.ts the way `pnpm demo` runs examples: node, tsx, workspace sources. */
function startService(env: Record<string, string>): Service {
  const child = spawn(process.execPath, ['--conditions=@q/source', '--import', 'tsx', 'examples/metrics-service.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

let service: Service | undefined;
afterEach(() => {
  if (service !== undefined && service.child.exitCode === null) service.child.kill('SIGKILL');
  service = undefined;
});

describe('examples/metrics-service.ts', () => {
  it('serves /metrics that count exactly the messages the queue moved, and stops on SIGTERM', async () => {
    const s = startService({ METRICS_PORT: '0', METRICS_MESSAGES: '2000' });
    service = s;
    await until(() => /metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/.test(s.output()), 60_000, 'the server');
    const url = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(s.output())?.[1] as string;

    // While the queue runs: a valid scrape, whatever its numbers.
    const early = await fetch(url);
    expect(early.status).toBe(200);
    parseExposition(await early.text());

    await until(() => s.output().includes('queue finished'), 60_000, 'the queue to finish');
    expect(s.output()).toContain('queue finished: produced 2000, consumed 2000, retries 20,');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const families = parseExposition(text);
    const orders = { queue: 'orders' };

    expect(sampleValue(families, 'q_messages_produced_total', orders)).toBe(2000);
    expect(sampleValue(families, 'q_messages_consumed_total', orders)).toBe(2000);
    expect(sampleValue(families, 'q_handler_retries_total', orders)).toBe(20);
    expect(sampleValue(families, 'q_messages_failed_total', orders)).toBe(0);
    expect(sampleValue(families, 'q_messages_dead_lettered_total', orders)).toBe(0);
    expect(sampleValue(families, 'q_messages_nacked_total', orders)).toBe(0);
    expect(sampleValue(families, 'q_messages_in_flight', orders)).toBe(0);
    expect(sampleValue(families, 'q_queue_paused', orders)).toBe(0);
    expect(sampleValue(families, 'q_queue_state', { ...orders, state: 'stopped' })).toBe(1);
    expect(text).toContain('# TYPE q_messages_consumed_total counter\n');
    expect(text).toContain('# HELP q_messages_consumed_total Messages a handler finished.\n');

    // The histogram's count is what the queue timed: every handler call (2,000 first attempts and 20
    // retries) except that calls under 50 us are timed one in 16, and a 1 ms sleep can look that short
    // (a timer set on a stale loop clock fires on the next turn). So it equals the queue's own count,
    // printed by the example, and is at most the number of calls.
    const duration = families.get('q_handler_duration_seconds');
    expect(duration?.type).toBe('histogram');
    const timed = Number(/handler calls timed (\d+)/.exec(s.output())?.[1]);
    expect(sampleValue(families, 'q_handler_duration_seconds_count', orders)).toBe(timed);
    expect(timed).toBeGreaterThan(100);
    expect(timed).toBeLessThanOrEqual(2020);
    const sum = sampleValue(families, 'q_handler_duration_seconds_sum', orders);
    expect(sum).toBeGreaterThan(0);
    expect(sum / timed).toBeGreaterThan(0.0005); // the mean: most calls sleep at least 1 ms
    const buckets = (duration?.samples ?? []).filter((x) => x.name === 'q_handler_duration_seconds_bucket');
    expect(buckets).toHaveLength(17); // the 16 default bounds and +Inf
    const at = Object.fromEntries(buckets.map((b) => [b.labels.le, b.value]));
    const counts = buckets.map((b) => b.value);
    expect([...counts].sort((a, b) => a - b)).toEqual(counts);
    expect(at['+Inf']).toBe(timed);
    expect(at['10']).toBe(timed); // no call takes 10 s
    expect(at['0.0005']).toBeLessThan(timed / 2); // the median is a 1 ms sleep

    expect((await fetch(new URL('/other', url))).status).toBe(404);

    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(s.output()).toContain('stopped (SIGTERM)');
  }, 90_000);
});
