import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What the test target answers to one request (decided per request, never per record). */
export type Fault = 'ok' | '500' | 'hang' | '400' | '429';

/** Shares of requests answered with each fault (the rest: 200). */
export interface FaultRates {
  readonly fail500?: number;
  readonly hang?: number;
  readonly reject400?: number;
  readonly throttle429?: number;
}

/** One request the target received. */
export interface Received {
  readonly path: string;
  readonly fault: Fault;
  readonly id: string | undefined;
  readonly idempotencyKey: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly contentType: string | undefined;
  readonly traceparent: string | undefined;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** When it arrived (Date.now()). */
  readonly at: number;
}

/** A real node:http target on 127.0.0.1 that records what it gets and answers with seeded faults. */
export interface Target {
  readonly origin: string;
  url(path: string): string;
  readonly received: Received[];
  /** Requests answered 2xx, per webhook-id. */
  okCount(id: string): number;
  close(): Promise<void>;
}

/** A seeded random in [0, 1) (mulberry32): the same seed gives the same faults. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Starts a target; `faults` (seeded by `seed`) decide each request's answer, per path when a function. */
export async function startTarget(
  options: { seed?: number; faults?: FaultRates | ((path: string) => FaultRates) } = {},
): Promise<Target> {
  const random = seeded(options.seed ?? 1);
  const received: Received[] = [];
  const ok = new Map<string, number>();
  const hung = new Set<ServerResponse>();
  const decide = (path: string): Fault => {
    const f = typeof options.faults === 'function' ? options.faults(path) : (options.faults ?? {});
    let r = random();
    for (const [fault, share] of [
      ['500', f.fail500],
      ['hang', f.hang],
      ['400', f.reject400],
      ['429', f.throttle429],
    ] as const) {
      if (r < (share ?? 0)) return fault;
      r -= share ?? 0;
    }
    return 'ok';
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const fault = decide(path);
      const id = header(req, 'webhook-id');
      received.push({
        path,
        fault,
        id,
        idempotencyKey: header(req, 'idempotency-key'),
        timestamp: header(req, 'webhook-timestamp'),
        signature: header(req, 'webhook-signature'),
        contentType: header(req, 'content-type'),
        traceparent: header(req, 'traceparent'),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      switch (fault) {
        case 'ok':
          if (id !== undefined) ok.set(id, (ok.get(id) ?? 0) + 1);
          res.writeHead(200).end('ok');
          return;
        case '500':
          res.writeHead(500).end('boom');
          return;
        case '400':
          res.writeHead(400).end('bad request: refused by the test target');
          return;
        case '429':
          res.writeHead(429, { 'retry-after': '1' }).end('slow down');
          return;
        case 'hang':
          // Never answered: the deliverer's timeout ends the attempt (the target did get the message).
          hung.add(res);
          res.on('close', () => hung.delete(res));
          return;
      }
    });
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: (path) => `${origin}${path}`,
    received,
    okCount: (id) => ok.get(id) ?? 0,
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A temp directory, removed by the returned function. */
export async function tempDir(prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A URL nothing listens on (a port bound, then released). */
export async function deadUrl(path = '/down'): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}${path}`;
}

/** A target that comes up on the port of a URL that was down so far. */
export interface Revived {
  /** 2xx answers per `webhook-id`. */
  okCount(id: string): number;
  /** The `webhook-id` of every request answered, in arrival order. */
  readonly order: readonly string[];
  close(): Promise<void>;
}

/** Starts a 200-answering target on `port` (where {@link deadUrl}'s endpoint was); counts 2xx per id. */
export async function reviveOn(port: number): Promise<Revived> {
  const ok = new Map<string, number>();
  const order: string[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = req.headers['webhook-id'];
      if (typeof id === 'string') {
        ok.set(id, (ok.get(id) ?? 0) + 1);
        order.push(id);
      }
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    okCount: (id) => ok.get(id) ?? 0,
    order,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The numbers of `ids` (`<prefix>_<n>`), grouped by `keyOf(n)` in order of first arrival (later copies
 * dropped, keyless ones left out): each key's list must be increasing when the key kept its order.
 */
export function firstArrivalsByKey<K>(ids: Iterable<string>, keyOf: (n: number) => K | undefined): Map<K, number[]> {
  const seen = new Set<string>();
  const byKey = new Map<K, number[]>();
  for (const id of ids) {
    if (seen.has(id)) continue;
    seen.add(id);
    const n = Number(id.slice(id.lastIndexOf('_') + 1));
    const key = keyOf(n);
    if (key === undefined) continue;
    let list = byKey.get(key);
    if (list === undefined) byKey.set(key, (list = []));
    list.push(n);
  }
  return byKey;
}
