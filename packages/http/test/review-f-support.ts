// Review F helpers: a real node:http target on 127.0.0.1 whose answer per path is switched by the test.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpDelivererOptions } from '../src/deliverer/deliverer-options.js';

/** A target answering each path with the status `statusOf(path)` (200 by default). */
export interface SwitchTarget {
  url(path: string): string;
  /** Status per path; change it at any time. */
  readonly status: Map<string, number>;
  /** Every request: path, webhook-id, status answered, arrival time. */
  readonly received: Array<{ path: string; id: string; status: number; at: number }>;
  /** webhook-ids answered 2xx, first arrival only, in arrival order. */
  firstOk(): string[];
  /** Requests in flight now, per path, and the most seen at once. */
  readonly inFlight: Map<string, number>;
  readonly maxInFlight: Map<string, number>;
  /** Delay before answering, per path (ms). */
  readonly delayMs: Map<string, number>;
  close(): Promise<void>;
}

export async function startSwitchTarget(): Promise<SwitchTarget> {
  const status = new Map<string, number>();
  const delayMs = new Map<string, number>();
  const received: SwitchTarget['received'] = [];
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    inFlight.set(path, (inFlight.get(path) ?? 0) + 1);
    maxInFlight.set(path, Math.max(maxInFlight.get(path) ?? 0, inFlight.get(path) as number));
    req.resume();
    req.on('end', () => {
      const answer = (): void => {
        const code = status.get(path) ?? 200;
        const id = String(req.headers['webhook-id'] ?? '');
        received.push({ path, id, status: code, at: Date.now() });
        inFlight.set(path, (inFlight.get(path) ?? 1) - 1);
        res.writeHead(code).end(code < 300 ? 'ok' : 'no');
      };
      const d = delayMs.get(path) ?? 0;
      if (d > 0) setTimeout(answer, d);
      else answer();
    });
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: (path) => `${origin}${path}`,
    status,
    received,
    inFlight,
    maxInFlight,
    delayMs,
    firstOk() {
      const seen = new Set<string>();
      const out: string[] = [];
      for (const r of received) {
        if (r.status >= 300 || seen.has(r.id)) continue;
        seen.add(r.id);
        out.push(r.id);
      }
      return out;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The engine of the review tests' parking deliverers: 4 attempts at once, every retry waiting exactly
 * `retryMs` (random() near 1, so parked records are due `retryMs` after their failure), no circuit.
 */
export function fixedRetryEngine(retryMs: number, maxAttempts = 1_000_000): HttpDelivererOptions['engine'] {
  return {
    concurrency: 4,
    random: () => 0.999,
    retry: { maxAttempts, minDelayMs: retryMs, maxDelayMs: retryMs, factor: 1, maxAgeMs: 3_600_000 },
    circuit: { failureThreshold: 1_000_000, openMs: 1_000 },
  };
}
