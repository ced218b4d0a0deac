import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InvalidOptionError } from '@q/core';
import { afterEach, describe, expect, it } from 'vitest';
import { DeadLetters } from '../src/delivery/dead-letters.js';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import type { DeliveryEngineOptions } from '../src/delivery/delivery-options.js';
import { DeliveryClosedError, InvalidItemError } from '../src/delivery/errors.js';
import { json, startTarget, tempDeadLetters, until } from './engine-target.js';

const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('DeliveryEngine.close', () => {
  it('resolves within its deadline, rejects every unfinished delivery, and leaves nothing running (the process exits)', async () => {
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--conditions=@q/source', '--import', 'tsx', fileURLToPath(new URL('./engine-close-child.ts', import.meta.url))],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    let printedAt = 0;
    const exit = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.stdout.on('data', () => {
        if (printedAt === 0 && out.includes('\n')) printedAt = Date.now();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    expect(exit).toBe(0);
    // Exits by itself right after its work: no timer (retry, circuit, deadline) or socket kept it alive.
    expect(Date.now() - printedAt).toBeLessThan(3_000);
    const report = JSON.parse(out) as {
      closeMs: number;
      circuits: string[];
      outcomes: string[];
      stats: { inFlight: number };
    };
    expect(report.circuits).toEqual(['closed', 'open']);
    expect(report.closeMs).toBeLessThan(1_500);
    expect(report.outcomes).toEqual(Array(9).fill('Q_HTTP_CLOSED'));
  });

  it('rejects deliver() after close, and close() twice returns the same promise', async () => {
    const dl = await tempDeadLetters();
    cleanups.push(() => dl.cleanup());
    const engine = new DeliveryEngine({ deadLetters: dl.deadLetters, logger: quiet });
    const closing = engine.close();
    expect(engine.close()).toBe(closing);
    await closing;
    await expect(engine.deliver({ id: 'late', url: 'http://127.0.0.1:9/', body: json(0) })).rejects.toBeInstanceOf(
      DeliveryClosedError,
    );
  });

  it('waits within the deadline for a dead letter being written, and settles it', async () => {
    const target = await startTarget(() => 400);
    const dl = await tempDeadLetters();
    cleanups.push(async () => {
      await target.close();
      await dl.cleanup();
    });
    const engine = new DeliveryEngine({ deadLetters: dl.deadLetters, logger: quiet });
    let resolved = 0;
    const items = Array.from({ length: 20 }, (_, i) =>
      engine.deliver({ id: `d${i}`, url: target.url, body: json(i) }).then((r) => {
        resolved++;
        return r;
      }),
    );
    const all = Promise.allSettled(items);
    await until(() => target.hits.length === 20);
    await engine.close({ timeoutMs: 2_000 });
    const settled = await all;
    const ok = settled.filter((r) => r.status === 'fulfilled').length;
    // Each one is either dead-lettered (stored) or rejected as closed, never both, never lost.
    expect(ok).toBe(resolved);
    expect(dl.deadLetters.count).toBeGreaterThanOrEqual(ok);
  });
});

describe('DeliveryEngine options and items', () => {
  it('throws InvalidOptionError naming each invalid option', async () => {
    const dl = await tempDeadLetters();
    cleanups.push(() => dl.cleanup());
    const base = { deadLetters: dl.deadLetters };
    const cases: [Partial<DeliveryEngineOptions> | Record<string, unknown>, string][] = [
      [{ concurrency: 0 }, 'concurrency'],
      [{ concurrency: 10_001 }, 'concurrency'],
      [{ concurrency: 1.5 }, 'concurrency'],
      [{ timeoutMs: 0 }, 'timeoutMs'],
      [{ timeoutMs: Number.NaN }, 'timeoutMs'],
      [{ connectTimeoutMs: -1 }, 'connectTimeoutMs'],
      [{ retry: 5 }, 'retry'],
      [{ retry: { maxAttempts: 0 } }, 'retry.maxAttempts'],
      [{ retry: { maxAgeMs: 0 } }, 'retry.maxAgeMs'],
      [{ retry: { minDelayMs: -1 } }, 'retry.minDelayMs'],
      [{ retry: { minDelayMs: 100, maxDelayMs: 50 } }, 'retry.maxDelayMs'],
      [{ retry: { factor: 0.5 } }, 'retry.factor'],
      [{ circuit: { failureThreshold: 0 } }, 'circuit.failureThreshold'],
      [{ circuit: { openMs: 0 } }, 'circuit.openMs'],
      [{ secrets: 'whsec_AQID' }, 'secrets'],
      [{ secrets: ['whsec_'] }, 'secrets[0]'],
      [{ deadLetters: undefined }, 'deadLetters'],
      [{ dispatcher: {} }, 'dispatcher'],
      [{ excerptBytes: -1 }, 'excerptBytes'],
      [{ excerptBytes: 1 << 20 }, 'excerptBytes'],
      [{ logger: {} }, 'logger'],
      [{ random: 1 }, 'random'],
    ];
    for (const [bad, option] of cases) {
      let error: unknown;
      try {
        new DeliveryEngine({ ...base, ...bad } as DeliveryEngineOptions);
      } catch (err) {
        error = err;
      }
      expect(error, option).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe(option);
      expect((error as Error).message).toContain(option);
    }
  });

  it('rejects an item it cannot send with InvalidItemError (Q_HTTP_INVALID_ITEM), before any attempt', async () => {
    const target = await startTarget(() => 200);
    const dl = await tempDeadLetters();
    const engine = new DeliveryEngine({ deadLetters: dl.deadLetters, logger: quiet });
    cleanups.push(async () => {
      await engine.close();
      await target.close();
      await dl.cleanup();
    });
    const bad = [
      { id: 'a.b', url: target.url, body: json(1) },
      { id: '', url: target.url, body: json(1) },
      { id: 'x', url: target.url, body: '{}' },
      { id: 'x', url: target.url, body: json(1), headers: { 'bad name': 'v' } },
      { id: 'x', url: target.url, body: json(1), headers: { ok: 'line\r\nbreak' } },
    ];
    for (const item of bad) {
      const err = await engine.deliver(item as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidItemError);
      expect((err as InvalidItemError).code).toBe('Q_HTTP_INVALID_ITEM');
    }
    expect(target.hits).toHaveLength(0);
  });

  it('DeadLetters.open refuses a missing dir', async () => {
    await expect(DeadLetters.open({ dir: '' })).rejects.toThrow(InvalidOptionError);
  });
});
