/**
 * The chaos schedule: faults injected when a share of the messages has been acknowledged (not at
 * fixed times, so the run is the same on a fast and on a loaded machine). Each step waits for its
 * own threshold, so steps overlap when their thresholds are close: the third proxy kill lands while
 * the broker is still down from its crash.
 */
import { delay } from '../../../../test-support/wait.js';
import type { ChaosBroker } from './chaos-brokers.js';

/** One fault. */
export interface ChaosStep {
  /** Share of the messages acknowledged (0 to 1) at which it starts. */
  readonly at: number;
  readonly name: string;
  run(): Promise<void>;
}

/** What happened: each step, when it started (messages acknowledged then) and how long it took. */
export interface ChaosEvent {
  readonly name: string;
  readonly ackedAtStart: number;
  readonly ms: number;
}

/** Something the schedule can SIGKILL and start again on the same directory: the proxy, or the worker. */
export interface KillableTarget {
  /** SIGKILL, then a start on the same directory; resolves once it serves again. */
  killAndRestart(): Promise<void>;
}

/**
 * The faults the issue names, placed where they hurt most:
 * 1. the target killed in full flow;
 * 2. the broker frozen (SIGSTOP) for 2 s, and the target killed 1.5 s into it, while its batch waits
 *    in the frozen broker's socket: the broker writes it once it runs again, after the target died
 *    without committing its cursor, so the restarted target sends it again (a replay the sink's
 *    high-water mark, or the consumer's dedupe, must drop). In direct-first the direct batch has
 *    timed out by then (`directTimeoutMs`, 1 s) and spilled to the log: the broker writes the direct
 *    copy, the restarted target forwards the spilled one;
 * 3. the broker killed and started again on the same data 2 s later, and the target killed while it
 *    is down (it restarts with its sink unreachable and a backlog).
 */
export function standardSchedule(target: KillableTarget, broker: ChaosBroker): ChaosStep[] {
  return [
    { at: 0.1, name: 'SIGKILL target #1, restart', run: () => target.killAndRestart() },
    {
      at: 0.3,
      name: `SIGSTOP ${broker.kind} 2 s + SIGKILL target #2 1.5 s into it, restart`,
      run: async () => {
        const paused = broker.pause(2000);
        await delay(1500);
        await Promise.all([paused, target.killAndRestart()]);
      },
    },
    { at: 0.6, name: `SIGKILL ${broker.kind}, down 2 s, restart`, run: () => broker.crash(2000) },
    { at: 0.61, name: 'SIGKILL target #3 (broker down), restart', run: () => target.killAndRestart() },
  ];
}

/**
 * Runs `steps` against `acked()` of `total`; resolves with what happened once every step ran.
 * Rejects when a threshold is not reached within `timeoutMs` or a step fails (the others still end
 * first, so nothing is left frozen behind).
 */
export async function runSchedule(
  steps: readonly ChaosStep[],
  acked: () => number,
  total: number,
  timeoutMs: number,
): Promise<ChaosEvent[]> {
  const deadline = Date.now() + timeoutMs;
  const events: ChaosEvent[] = [];
  const results = await Promise.allSettled(
    steps.map(async (step) => {
      const threshold = Math.ceil(step.at * total);
      while (acked() < threshold) {
        if (Date.now() > deadline)
          throw new Error(`chaos step "${step.name}": ${threshold} acknowledged not reached (${acked()})`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const ackedAtStart = acked();
      const t0 = Date.now();
      await step.run();
      events.push({ name: step.name, ackedAtStart, ms: Date.now() - t0 });
    }),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return events;
}
