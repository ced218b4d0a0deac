// Chaos through `q-http serve` (a child process on the sources): 3,000 messages pushed to /opq/push
// by 32 concurrent senders over one undici keep-alive pool, each retried with the same body until
// answered 201, while the server is SIGKILLed 3 times mid-run and restarted on the same directory
// and port. The target answers 200, and 500 to the first attempt of one message in 50. After the
// last restart no push is needed for delivery to go on: at the end every message answered 201 was
// delivered (a 2xx seen by the target) at least once, or is in the dead letters.
//
// Ids are `<topic>_<seq>`: a push retried after a kill whose first attempt had been stored makes a
// second record (OPQ's API has no idempotency key), so messages are counted by body, not by id.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from './server-support/process.js';
import { send } from './server-support/server.js';

const COUNT = 3000;
const SENDERS = 32;
const KILLS_AT = [750, 1500, 2250];
const TOPIC = 'chaos';

const dir = mkdtempSync(join(tmpdir(), 'q-http-chaos-'));
let proc: ServeProcess | undefined;
let target: Server | undefined;
afterAll(async () => {
  await proc?.stop('SIGKILL');
  target?.closeAllConnections();
  await new Promise<void>((resolve) => (target === undefined ? resolve() : target.close(() => resolve())));
  rmSync(dir, { recursive: true, force: true });
});

/** A port free now (the server is restarted on it, so the senders' pool finds it again). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('chaos: q-http serve SIGKILLed mid-run', () => {
  it(`${COUNT} pushes from ${SENDERS} senders, 3 SIGKILLs and restarts: every 201'd message delivered or dead-lettered`, async () => {
    const started = Date.now();
    // The target: which message numbers it answered 2xx, how many requests, how many 500s.
    const delivered = new Map<number, number>();
    const attemptsOf = new Map<number, number>();
    let targetRequests = 0;
    let answered500 = 0;
    target = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        targetRequests++;
        const n = Number(new URLSearchParams(Buffer.concat(chunks).toString()).get('message')?.slice(2));
        const seen = attemptsOf.get(n) ?? 0;
        attemptsOf.set(n, seen + 1);
        if (n % 50 === 7 && seen === 0) {
          answered500++;
          res.statusCode = 500;
        } else {
          delivered.set(n, (delivered.get(n) ?? 0) + 1);
          res.statusCode = 200;
        }
        res.end();
      });
    });
    await new Promise<void>((resolve) => target?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`;

    const port = await freePort();
    const args = [
      '--dir',
      dir,
      '--port',
      String(port),
      '--log-level',
      'warn',
      '--min-delay-ms',
      '100',
      '--max-delay-ms',
      '1000',
      '--concurrency',
      '32',
      '--close-timeout-ms',
      '2000',
    ];
    proc = await startServe(args);
    const origin = `http://127.0.0.1:${port}`;

    const pool = new Pool(origin, {
      connections: SENDERS,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: { timeout: 2000 },
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    });
    const acked = new Set<number>();
    const failures: Record<string, number> = {};
    let requests = 0;
    let next = 0;
    const deadline = Date.now() + 60_000;
    const sendOne = async (n: number): Promise<void> => {
      // The same body on every attempt: a retry is the same message.
      const body = new URLSearchParams({ topic: TOPIC, url, message: `m-${n}` }).toString();
      for (let failed = 0; ; failed++) {
        if (Date.now() > deadline)
          throw new Error(`message ${n} not accepted in time; failures ${JSON.stringify(failures)}`);
        requests++;
        let cause: string;
        try {
          const res = await pool.request({
            path: '/opq/push',
            method: 'POST',
            body,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          });
          const text = await res.body.text();
          if (res.statusCode === 201) {
            expect(text).toBe('success');
            acked.add(n);
            return;
          }
          if (res.statusCode !== 503) throw new Error(`message ${n}: HTTP ${res.statusCode} ${text}`);
          cause = '503';
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          if (typeof code !== 'string' || !(code.startsWith('UND_ERR') || code.startsWith('E'))) throw error;
          cause = code;
        }
        failures[cause] = (failures[cause] ?? 0) + 1;
        const wait = Math.min(500, 20 * 2 ** Math.min(failed, 5));
        await new Promise((resolve) => setTimeout(resolve, wait / 2 + Math.random() * (wait / 2)));
      }
    };
    const senders = Promise.all(
      Array.from({ length: SENDERS }, async () => {
        for (let n = next++; n < COUNT; n = next++) await sendOne(n);
      }),
    );

    // The chaos: a SIGKILL when the accepted count passes each mark, then a restart on the same dir and port.
    const kills: string[] = [];
    let sendersDone = false;
    const chaos = (async () => {
      for (const mark of KILLS_AT) {
        while (acked.size < mark && !sendersDone) await new Promise((resolve) => setTimeout(resolve, 5));
        if (sendersDone) break;
        const t = Date.now();
        expect(await proc?.stop('SIGKILL')).toBeNull();
        const at = acked.size;
        // Accepted and not yet delivered: the restarted server must deliver them from its log alone.
        const pending = [...acked].filter((n) => !delivered.has(n)).length;
        proc = await startServe(args);
        kills.push(`at ${at} accepted, ${pending} of them undelivered (${Date.now() - t} ms down)`);
      }
    })();
    try {
      await senders;
    } finally {
      sendersDone = true;
      await chaos;
      await pool.destroy();
    }
    const sentMs = Date.now() - started;

    // No push from here on: delivery goes on by itself after the last restart.
    const waitUntil = Date.now() + 30_000;
    while ([...acked].some((n) => !delivered.has(n)) && Date.now() < waitUntil)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const deadLettered = new Set<number>();
    for (let from = 0; ; ) {
      const page = await send(origin, 'GET', `/v1/topics/${TOPIC}/dead-letters?from=${from}&max=1000`);
      const letters = (page.json as { deadLetters: { seq: number; body: string }[] }).deadLetters;
      for (const l of letters) deadLettered.add(Number(new URLSearchParams(l.body).get('message')?.slice(2)));
      if (letters.length < 1000) break;
      from = (letters.at(-1)?.seq ?? from) + 1;
    }
    const missing = [...acked].filter((n) => !delivered.has(n) && !deadLettered.has(n));
    const duplicated = [...delivered.values()].filter((c) => c > 1).length;
    const stats = (await send(origin, 'GET', `/v1/topics/${TOPIC}`)).json as { nextSeq: number };
    console.log(
      [
        `accepted (201) ${acked.size} of ${COUNT}; push requests ${requests} (retries ${requests - COUNT}), failures ${JSON.stringify(failures)}`,
        `records in the log ${stats.nextSeq} (${stats.nextSeq - acked.size} from pushes retried after a kill)`,
        `delivered ${[...acked].filter((n) => delivered.has(n)).length}, more than once ${duplicated}, dead-lettered ${deadLettered.size}, missing ${missing.length}`,
        `target: ${targetRequests} requests, ${answered500} answered 500`,
        `kills: ${kills.join('; ')}`,
        `sent in ${sentMs} ms, total ${Date.now() - started} ms`,
      ].join('\n'),
    );

    expect(acked.size).toBe(COUNT);
    expect(kills).toHaveLength(3);
    expect(missing, `missing, e.g. ${missing.slice(0, 10).join(', ')}`).toEqual([]);
    expect(answered500).toBeGreaterThan(0);
    // A clean stop after all that.
    expect(await proc.stop('SIGTERM', 15_000)).toBe(0);
  }, 90_000);
});
