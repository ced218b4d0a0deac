import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeadLetters } from '../src/delivery/dead-letters.js';

/** One request the target received. */
export interface Hit {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** `performance.now()` at arrival (body read). */
  readonly at: number;
}

/** What the target answers: a status (with headers and body), or `'hang'` (never answers). */
export type Reply =
  | number
  | { status: number; headers?: Record<string, string>; body?: string; hangBody?: boolean }
  | 'hang';

/** A real node:http server on 127.0.0.1, answering each request by `reply(hit, n)` (n: 0-based arrival index). */
export interface Target {
  readonly url: string;
  readonly hits: Hit[];
  /** Requests answered or hanging right now (not yet answered). */
  readonly open: () => number;
  close(): Promise<void>;
}

/** Starts a target; `reply` may be changed later through the returned `setReply`. */
export async function startTarget(
  reply: (hit: Hit, n: number) => Reply | Promise<Reply> = () => 200,
): Promise<Target & { setReply(r: (hit: Hit, n: number) => Reply | Promise<Reply>): void }> {
  const hits: Hit[] = [];
  const hanging = new Set<ServerResponse>();
  let answer = reply;
  let open = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    open++;
    res.on('close', () => {
      open--;
      hanging.delete(res);
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit: Hit = {
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: performance.now(),
      };
      const n = hits.push(hit) - 1;
      void Promise.resolve(answer(hit, n)).then((r) => {
        if (r === 'hang') {
          hanging.add(res);
          return;
        }
        const { status, headers, body, hangBody } =
          typeof r === 'number' ? { status: r, headers: {}, body: '', hangBody: false } : r;
        res.writeHead(status, headers);
        if (hangBody === true) {
          // Headers and the start of the body go out; the rest never comes.
          res.write(body ?? 'partial');
          hanging.add(res);
        } else res.end(body ?? '');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    hits,
    open: () => open,
    setReply(r) {
      answer = r;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A temporary directory and dead letters in it; `cleanup` closes and removes them. */
export async function tempDeadLetters(): Promise<{ deadLetters: DeadLetters; dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'q-http-engine-'));
  const deadLetters = await DeadLetters.open({ dir: join(dir, 'dead-letter') });
  return {
    deadLetters,
    dir,
    async cleanup() {
      await deadLetters.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until `check()` is true, polling every 5 ms, at most `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A JSON body. */
export function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}
