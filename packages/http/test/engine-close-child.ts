// Child process of engine-close.test.ts: an engine with every kind of pending work (attempts hanging,
// items waiting, a scheduled retry, an open circuit) is closed; then the process must exit by itself,
// which it does only when nothing (timer, socket) is left running.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeadLetters } from '../src/delivery/dead-letters.js';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';

const dir = await mkdtemp(join(tmpdir(), 'q-http-close-'));
const deadLetters = await DeadLetters.open({ dir });
// One server hangs, the other answers 503 (another origin: the Agent's connections are per origin).
const server = createServer((req) => req.resume());
const failing = createServer((req, res) => {
  req.resume();
  res.writeHead(503).end();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
const failUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}/`;
const engine = new DeliveryEngine({
  deadLetters,
  concurrency: 2,
  timeoutMs: 60_000,
  retry: { minDelayMs: 60_000, maxDelayMs: 60_000 },
  circuit: { failureThreshold: 1, openMs: 60_000 },
  logger: { error() {}, warn() {}, info() {}, debug() {} },
});
const body = Buffer.from('{}');
const pending = [
  ...Array.from({ length: 4 }, (_, i) => engine.deliver({ id: `h${i}`, url, body, key: 'k' })),
  ...Array.from({ length: 4 }, (_, i) => engine.deliver({ id: `f${i}`, url, body })),
  engine.deliver({ id: 'r', url: failUrl, body }),
];
const settled = Promise.allSettled(pending);
// Up to 10 s (not 2.5 s) for the first attempts of a freshly started process on a slow CI machine; past it
// the run goes on and the test fails on the circuits it reports.
for (let i = 0; i < 2000 && !(engine.stats().retried === 1 && engine.stats().inFlight === 2); i++)
  await new Promise((r) => setTimeout(r, 5));
const circuits = engine.endpoints().map((e) => e.circuit);
const started = Date.now();
await engine.close({ timeoutMs: 500 });
const closeMs = Date.now() - started;
const outcomes = (await settled).map((r) =>
  r.status === 'rejected' ? (r.reason as { code?: string }).code : 'fulfilled',
);
for (const s of [server, failing]) {
  s.closeAllConnections();
  await new Promise<void>((resolve) => s.close(() => resolve()));
}
await deadLetters.close();
await rm(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ closeMs, circuits, outcomes, stats: engine.stats() })}\n`);
