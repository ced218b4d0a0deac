/**
 * `q-outbox serve` as the chaos target: one directory and one TCP port for its whole life, so a
 * restarted proxy is found by the senders' pool where the killed one was.
 */
import { readFileSync } from 'node:fs';
import { Client } from 'undici';
import { freePort } from '../../../redis/test/support/redis-server.js';
import { type ProxyProcess, startProxyProcess } from '../server-support/proxy-process.js';
import type { KillableTarget } from './chaos-schedule.js';

/** How long a (re)start may take to print its address. */
const START_TIMEOUT_MS = 30_000;

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
  /** CPU time (user + system, ms) of every proxy process so far, read from /proc before each kill; 0 where there is no /proc. */
  cpuMs(): number;
  /** SIGKILLs whatever runs. Idempotent, never throws. */
  dispose(): Promise<void>;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU time of a live process in ms, from /proc; 0 when it cannot be read. */
function processCpuMs(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): state is the first, utime the 12th, stime the 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND || 0;
  } catch {
    return 0;
  }
}

/** Starts `q-outbox serve --dir dir --sink sinkUrl` on a free port, with `extraArgs`. */
export async function startProxyTarget(dir: string, sinkUrl: string, extraArgs: string[] = []): Promise<ProxyTarget> {
  const port = await freePort();
  const args = ['--dir', dir, '--sink', sinkUrl, '--port', String(port), '--log-level', 'warn', ...extraArgs];
  let disposed = false;
  // A test process that dies without its afterAll must not leave a proxy behind.
  const killOnExit = (): void => {
    try {
      proc.child.kill('SIGKILL');
    } catch {
      // Not started yet, or gone.
    }
  };
  process.on('exit', killOnExit);
  const start = async (): Promise<ProxyProcess> => {
    const started = await startProxyProcess(args, START_TIMEOUT_MS);
    if (disposed) started.child.kill('SIGKILL');
    return started;
  };
  let proc = await start().catch((error: unknown) => {
    process.off('exit', killOnExit);
    throw error;
  });
  const origin = `http://127.0.0.1:${port}`;
  if (proc.http !== origin) throw new Error(`the proxy listens on ${proc.http}, not ${origin}`);
  let restarting: Promise<void> = Promise.resolve();
  let spentMs = 0;
  return {
    origin,
    current: () => proc,
    killAndRestart() {
      restarting = restarting.then(async () => {
        spentMs += processCpuMs(proc.pid);
        const code = await proc.stop('SIGKILL');
        if (code !== null) throw new Error(`the proxy had exited (${code}) before its kill:\n${proc.stderr()}`);
        proc = await start();
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
    cpuMs: () => spentMs + processCpuMs(proc.pid),
    stop: () => proc.stop('SIGTERM', 15_000),
    async dispose() {
      disposed = true;
      await proc.stop('SIGKILL').catch(() => undefined);
      // A restart under way kills what it started (disposed), within its start timeout.
      await restarting.catch(() => undefined);
      await proc.stop('SIGKILL').catch(() => undefined);
      process.off('exit', killOnExit);
    },
  };
}
