/**
 * The in-process chaos target: an `Outbox` in a worker process (chaos-worker.ts) that the schedule
 * SIGKILLs and starts again on the same directory. The parent hands out message numbers, a window
 * at a time, and records each resolved send. Numbers handed to a worker that was killed before it
 * told their outcome are "unknown": the sender died with the outbox, so nobody retries them (each
 * may have reached the broker once, or not at all); fresh numbers take their place until `count`
 * sends have resolved.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { forkWorker } from '../../../../test-support/fork-worker.js';
import type { OutboxStats } from '../../src/index.js';
import type { KillableTarget } from './chaos-schedule.js';
import type { FromWorker, ToWorker } from './chaos-worker.js';

const WORKER = fileURLToPath(new URL('./chaos-worker.ts', import.meta.url));
/** How long a worker may take to open its outbox (a restart replays its idempotency window and more). */
const OPEN_TIMEOUT_MS = 30_000;

/** Options of {@link startWorkerTarget}. */
export interface WorkerTargetOptions {
  readonly dir: string;
  readonly sinkUrl: string;
  readonly mode: 'write-ahead' | 'direct-first';
  /** Bodies are `<prefix>-<n>`. */
  readonly prefix: string;
  /** Sends that must resolve. */
  readonly count: number;
  /** Concurrent sends in the worker. */
  readonly senders: number;
  /** Numbers handed out and not yet resolved, at most. */
  readonly window: number;
}

/** The worker, restartable; see the module comment. */
export interface WorkerTarget extends KillableTarget {
  /** Sends resolved so far. */
  acked(): number;
  /** The seq of each resolved send, by message number. */
  readonly seqs: ReadonlyMap<number, number>;
  /** Numbers whose outcome died with a worker. */
  readonly unknown: ReadonlySet<number>;
  /** The last stats each worker told (a killed one's up to 200 ms before its death), in start order. */
  readonly stats: readonly OutboxStats[];
  /** Resolves once `count` sends resolved; rejects when a worker fails by itself. */
  readonly done: Promise<void>;
  /** Asks the worker to forward everything, close and exit; resolves with its last stats. */
  drain(timeoutMs: number): Promise<OutboxStats>;
  /** SIGKILLs whatever runs. Idempotent, never throws. */
  dispose(): Promise<void>;
}

/** Resolves once `child` exited and its IPC channel is closed (every message it sent was read). */
function gone(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const disconnected = new Promise<void>((resolve) => {
    if (!child.connected) resolve();
    else child.once('disconnect', () => resolve());
  });
  return Promise.all([exited, disconnected]).then(() => undefined);
}

/** Starts the first worker and hands it work. */
export async function startWorkerTarget(options: WorkerTargetOptions): Promise<WorkerTarget> {
  const seqs = new Map<number, number>();
  const unknown = new Set<number>();
  const outstanding = new Set<number>();
  const stats: OutboxStats[] = [];
  let workers = 0;
  let next = 0;
  let child: ChildProcess | undefined;
  let killing = false;
  let restarting: Promise<void> = Promise.resolve();
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  done.catch(() => undefined);
  let drained: ((stats: OutboxStats) => void) | undefined;

  const topUp = (): void => {
    if (child === undefined || killing) return;
    const batch: number[] = [];
    while (outstanding.size < options.window && seqs.size + outstanding.size < options.count) {
      outstanding.add(next);
      batch.push(next++);
    }
    if (batch.length > 0) child.send({ send: batch } satisfies ToWorker);
  };

  const spawn = async (): Promise<void> => {
    const args = [options.dir, options.sinkUrl, options.mode, options.prefix, String(options.senders)];
    // forkWorker resolves on the first message, `started`: from here the process can be killed.
    const c = await forkWorker(WORKER, args);
    child = c;
    const index = workers++;
    let ready: (() => void) | undefined;
    const opened = new Promise<void>((resolve) => {
      ready = resolve;
    });
    c.on('message', (m: FromWorker) => {
      if ('ready' in m) ready?.();
      else if ('stats' in m) stats[index] = m.stats;
      else if ('ok' in m) {
        for (let i = 0; i < m.ok.length; i += 2) {
          const n = m.ok[i] as number;
          if (!outstanding.delete(n)) fail(new Error(`message ${n} resolved but was not handed out`));
          seqs.set(n, m.ok[i + 1] as number);
        }
        if (seqs.size >= options.count) finish();
        else topUp();
      } else if ('drained' in m) {
        stats[index] = m.drained;
        drained?.(m.drained);
      } else if ('fatal' in m) fail(new Error(`the worker failed: ${m.fatal}`));
    });
    c.once('exit', (code, signal) => {
      if (!killing && drained === undefined) fail(new Error(`the worker exited by itself (${code ?? signal})`));
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the worker did not open its outbox in ${OPEN_TIMEOUT_MS} ms`)),
        OPEN_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([opened, done, timeout]);
    } catch (error) {
      killing = true;
      c.kill('SIGKILL');
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };

  await spawn();
  topUp();
  return {
    acked: () => seqs.size,
    seqs,
    unknown,
    stats,
    done,
    killAndRestart() {
      restarting = restarting.then(async () => {
        const c = child as ChildProcess;
        killing = true;
        c.kill('SIGKILL');
        await gone(c);
        for (const n of outstanding) unknown.add(n);
        outstanding.clear();
        child = undefined;
        killing = false;
        await spawn();
        topUp();
      });
      return restarting;
    },
    async drain(timeoutMs) {
      await restarting;
      const c = child as ChildProcess;
      let timer: NodeJS.Timeout | undefined;
      try {
        return await new Promise<OutboxStats>((resolve, reject) => {
          drained = resolve;
          timer = setTimeout(() => reject(new Error(`the worker did not drain in ${timeoutMs} ms`)), timeoutMs);
          c.send({ drain: true } satisfies ToWorker);
        });
      } catch (error) {
        c.kill('SIGKILL');
        throw error;
      } finally {
        clearTimeout(timer);
        await gone(c);
      }
    },
    async dispose() {
      await restarting.catch(() => undefined);
      killing = true;
      const c = child;
      if (c !== undefined && c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await gone(c);
      }
    },
  };
}
