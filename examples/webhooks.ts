/**
 * Webhooks from a durable log: 1,000 events appended to a @q/log are delivered by an HttpDeliverer to a
 * local receiver that checks each Standard Webhooks signature, answers 503 to every tenth first
 * attempt (so some are retried, with the same webhook-id) and rejects one event with 400 (a dead
 * letter). Then a replay sends events 0..9 again to a second URL, the live cursor untouched.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpDeliverer, signWebhook } from '@q/http';
import { openLog } from '@q/log';

const total = 1_000;
const secret = `whsec_${Buffer.alloc(32, 42).toString('base64')}`;
const delivered = new Set<string>();
const attempts = new Map<string, number>();
const replayed: string[] = [];
let badSignatures = 0;

const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const id = String(req.headers['webhook-id']);
    const body = Buffer.concat(chunks);
    const signature = signWebhook(secret, id, Number(req.headers['webhook-timestamp']), body);
    if (req.headers['webhook-signature'] !== signature) badSignatures++;
    if (req.url === '/replay') {
      replayed.push(id);
      return res.end();
    }
    const n = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, n);
    const event = JSON.parse(body.toString()) as { n: number };
    if (event.n === 500) return res.writeHead(400).end('unknown event type'); // refused for good
    if (event.n % 10 === 0 && n === 1) return res.writeHead(503, { 'retry-after': '0' }).end(); // retried
    delivered.add(id);
    res.end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

const dir = mkdtempSync(join(tmpdir(), 'q-example-webhooks-'));
const log = await openLog({ dir: join(dir, 'events') });
const deliverer = new HttpDeliverer({
  log,
  url: `${base}/hooks`,
  deadLetterDir: join(dir, 'dead-letter'),
  engine: { concurrency: 32, secrets: [secret], retry: { minDelayMs: 10, maxDelayMs: 100 } },
});
try {
  await deliverer.start();
  for (let n = 0; n < total; n++) await log.append(JSON.stringify({ type: 'order.paid', n }));
  const deadline = Date.now() + 30_000;
  // Finished, and the cursor committed past them (commits are throttled to one per 50 ms).
  const finished = (): boolean => deliverer.stats().cursor === total;
  while (!finished() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

  const [dead] = await deliverer.deadLetters.list();
  const replay = await deliverer.replay({ from: 0, to: 9, url: `${base}/replay` });
  const stats = deliverer.stats();
  const retried = [...attempts.values()].filter((n) => n > 1).length;
  console.log(
    `webhooks: ${delivered.size} of ${total} delivered, ${stats.deadLettered} dead letter ` +
      `(${dead?.reason}, HTTP ${dead?.status}: "${dead?.excerpt}"), ${retried} retried with the same id, ` +
      `${badSignatures} bad signatures; replay of 0..9 sent ${replayed.length} (cursor at ${stats.cursor})`,
  );
  const ok = delivered.size === total - 1 && stats.deadLettered === 1 && badSignatures === 0 && replay.delivered === 10;
  console.log(ok ? 'webhooks check: OK' : 'webhooks check: FAILED');
  process.exitCode = ok ? 0 : 1;
} finally {
  await deliverer.close();
  await log.close();
  receiver.close();
  rmSync(dir, { recursive: true, force: true });
}
