/**
 * A service with Prometheus metrics: a Queue moves METRICS_MESSAGES orders (2,000 by default; one in
 * 100 fails its first attempt and is retried) while a node:http server on 127.0.0.1 serves its stats
 * on GET /metrics, read from `queue.stats()` at each scrape by @q/prometheus (handler durations as the
 * histogram q_handler_duration_seconds, from `queue.latencyBuckets()`).
 *
 *   METRICS_PORT=9464 node --conditions=@q/source --import tsx examples/metrics-service.ts
 *   curl http://127.0.0.1:9464/metrics
 *
 * METRICS_PORT defaults to 0 (any free port; the URL is printed). The server runs until SIGINT or
 * SIGTERM, or for METRICS_DURATION_MS when set; then it closes, the queue stops and the process ends.
 */
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromIterable, Queue } from '@q/core';
import { registerQueueMetrics } from '@q/prometheus';
import { Registry } from 'prom-client';

const port = Number(process.env.METRICS_PORT ?? 0);
const total = Number(process.env.METRICS_MESSAGES ?? 2000);
const durationMs = process.env.METRICS_DURATION_MS === undefined ? undefined : Number(process.env.METRICS_DURATION_MS);

// A registry of our own (prom-client's global `register` works too): only the queue's metrics.
const registry = new Registry();

const orders = Array.from({ length: total }, (_, id) => ({ id }));
const failedOnce = new Set<number>();
const queue = new Queue<{ id: number }>(
  fromIterable(orders),
  () => ({
    async consume(order) {
      await sleep(1); // stands for a call to a database or another service
      if (order.id % 100 === 0 && !failedOnce.has(order.id)) {
        failedOnce.add(order.id);
        throw new Error(`order ${order.id}: the payment service timed out`);
      }
    },
  }),
  { name: 'orders', consumers: 8, retry: { attempts: 3, minDelayMs: 5 } },
);
queue.on('error', () => {}); // the retries are the point here; a real service would log them
const metrics = registerQueueMetrics(queue, { registry });

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'Content-Type': registry.contentType });
        res.end(body);
      },
      (error: unknown) => {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(String(error));
      },
    );
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('not found: try GET /metrics\n');
});
await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
const address = server.address();
const bound = typeof address === 'object' && address !== null ? address.port : port;
console.log(`metrics on http://127.0.0.1:${bound}/metrics`);

const running = queue.start().then(() => {
  const s = queue.stats();
  console.log(
    `queue finished: produced ${s.produced}, consumed ${s.consumed}, retries ${s.retries}, handler calls timed ${s.latency.count}`,
  );
});

const timer = durationMs === undefined ? undefined : setTimeout(() => void shutdown('duration'), durationMs);
let stopping = false;
async function shutdown(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearTimeout(timer);
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections(); // keep-alive scrapers would hold close() open
  });
  await queue.stop({ timeoutMs: 5000 });
  await running;
  metrics.unregister();
  console.log(`stopped (${reason})`);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
