/**
 * A real node:http target on 127.0.0.1:0 that records every request it gets, answering with the
 * status `answer` picks (200 by default).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the target got. */
export interface TargetRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A running target. */
export interface Target {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** Every request so far, in arrival order. */
  readonly requests: TargetRequest[];
  /** Changes how the target answers from now on. */
  answer: (request: TargetRequest) => number;
  /** Resolves once `test(requests)` holds, checked at each request; rejects after `timeoutMs`. */
  waitFor(test: (requests: TargetRequest[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a target; `answer` picks each response's status. */
export async function startTarget(answer: (request: TargetRequest) => number = () => 200): Promise<Target> {
  const requests: TargetRequest[] = [];
  const waiters = new Set<() => void>();
  const target: Target = {
    origin: '',
    requests,
    answer,
    waitFor(test, timeoutMs = 15_000) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!test(requests)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the target's condition did not hold within ${timeoutMs} ms (${requests.length} requests)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(request);
      res.statusCode = target.answer(request);
      res.end('ok');
      for (const waiter of [...waiters]) waiter();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (target as { origin: string }).origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return target;
}
