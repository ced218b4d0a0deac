/**
 * `q-outbox serve` as the chaos target: one directory and one TCP port for its whole life, so a
 * restarted proxy is found by the senders' pool where the killed one was.
 */
import { Client } from 'undici';
import { freePort } from '../../../redis/test/support/redis-server.js';
import { type ProxyProcess, startProxyProcess } from '../server-support/proxy-process.js';
import type { KillableTarget } from './chaos-schedule.js';

/** The proxy process, killed and restarted on the same directory and port. */
export interface ProxyTarget extends KillableTarget {
  /** `http://127.0.0.1:<port>`, the same after every restart. */
  readonly origin: string;
  /** The process now running. */
  current(): ProxyProcess;
  /** Waits until the proxy's backlog is empty (`GET /v1/health`), bounded by `timeoutMs`. */
  drained(timeoutMs: number): Promise<void>;
  /** SIGTERM (the clean close); resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILLs whatever runs. Idempotent, never throws. */
  dispose(): Promise<void>;
}

/** Starts `q-outbox serve --dir dir --sink sinkUrl` on a free port, with `extraArgs`. */
export async function startProxyTarget(dir: string, sinkUrl: string, extraArgs: string[] = []): Promise<ProxyTarget> {
  const port = await freePort();
  const args = ['--dir', dir, '--sink', sinkUrl, '--port', String(port), '--log-level', 'warn', ...extraArgs];
  let proc = await startProxyProcess(args);
  const origin = `http://127.0.0.1:${port}`;
  if (proc.http !== origin) throw new Error(`the proxy listens on ${proc.http}, not ${origin}`);
  let restarting: Promise<void> = Promise.resolve();
  return {
    origin,
    current: () => proc,
    killAndRestart() {
      restarting = restarting.then(async () => {
        const code = await proc.stop('SIGKILL');
        if (code !== null) throw new Error(`the proxy had exited (${code}) before its kill:\n${proc.stderr()}`);
        proc = await startProxyProcess(args);
      });
      return restarting;
    },
    async drained(timeoutMs) {
      const client = new Client(origin);
      const deadline = Date.now() + timeoutMs;
      let last: unknown;
      try {
        for (;;) {
          const res = await client.request({ path: '/v1/health', method: 'GET' });
          last = await res.body.json();
          const health = last as { backlogMessages?: number; directPending?: number };
          if (health.backlogMessages === 0 && (health.directPending ?? 0) === 0) return;
          if (Date.now() > deadline)
            throw new Error(`the proxy's backlog did not drain in ${timeoutMs} ms: ${JSON.stringify(last)}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        await client.close();
      }
    },
    stop: () => proc.stop('SIGTERM', 15_000),
    async dispose() {
      await restarting.catch(() => undefined);
      await proc.stop('SIGKILL').catch(() => undefined);
    },
  };
}
