/**
 * Queue against a simple model, with fast-check. Each run generates a whole scenario (see
 * support/queue-scenario.ts: producers returning single messages and batches, channel capacity,
 * single or batch consumers, keys, handlers that succeed, throw, run slowly or hang past their
 * timeout ignoring their signal, retries, a dead-letter pusher that is slow, fails first or confirms,
 * throwing listeners, broadcasts, stop() at a random point with a deadline of 0..50 ms or Infinity)
 * and checks, in the fakes' callbacks and after the stop:
 *
 * - every produced message is settled exactly once, by its producer, never after stop() resolved,
 *   with an outcome that fits what happened (attempts, dead letter or not, stop called);
 * - `dead-lettered` only once the dead-letter push completed, and never `nacked` after it completed
 *   (a nack while the push is unfinished is allowed: the dead letter may then hold a duplicate);
 * - with keyOf: first attempts of a key start in produce order per producer, and no two calls with
 *   a common key overlap (a keyed batch holds all its keys), counting calls that timed out but still
 *   run because they ignore their signal;
 * - no handler call gets more than batchSize messages (keyed backlogs are merged up to it);
 * - work conservation: a message of a free key does not wait STARVE_MS while a consumer is idle;
 * - unstarted messages held never exceed capacity + producers × largest batch + consumers × (1, or
 *   batchSize with consumeBatch or keys) + with keys the backlogs' max(capacity, batchSize) + batchSize;
 * - stop() resolves by its deadline + STOP_SLACK_MS (never rejects), start() does not reject, every
 *   broadcast resolves (0 after stop), stats() at stop adds up to what was produced;
 * - afterwards no timer is pending (fake or real) and no rejection went unhandled.
 *
 *   node scripts/test.mjs packages/core/test/queue-model.test.ts       2,000 scenarios (Q_MODEL_RUNS)
 *   Q_MODEL_RUNS=100000 npx vitest run packages/core/test/queue-model.test.ts      100,000, locally
 *   Q_MODEL_SEED=<seed> Q_MODEL_PATH=<path> npx vitest run packages/core/test/queue-model.test.ts
 *                                                  replays a failure (fast-check prints seed and path)
 *   Q_MODEL_VERBOSE=1 ...                          lists every failure met while shrinking, too
 *
 * Time is fake (vitest's timers: setTimeout, setInterval, setImmediate, Date and performance, which
 * is all the queue reads), advanced 1 ms at a time with every microtask drained after each timer, as
 * Node does. So a scenario of 200 ms of handler time runs in a few ms, durations are exact (the stop
 * deadline, how long a message waited), nothing depends on machine load, and with `Math.random`
 * seeded from the scenario a failing seed replays exactly.
 */
import type { Outcome, QueueStats } from '@q/core';
import fc from 'fast-check';
import { describe, it, vi } from 'vitest';
import {
  type Hooks,
  type MessageSpec,
  type Scenario,
  type Step,
  scenarioArb,
  scenarioQueue,
} from './support/queue-scenario.js';

const RUNS = Number(process.env.Q_MODEL_RUNS ?? 2000);
/** Stop must resolve by its deadline plus this (fake ms: nothing legitimately takes longer). */
const STOP_SLACK_MS = 5;
/** A message of a free key may wait this long while a consumer is idle (fake ms; legit waits are 0). */
const STARVE_MS = 10;
/** After stop resolved: time for zombie handlers and late pushes to finish, then no timer may be left. */
const LATE_MS = 200;
/** Scenarios whose stop trigger never came are stopped here; an infinite stop must end by then too. */
const GIVE_UP_MS = 1000;
const FAKED = ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval'] as const;
const realImmediate = setImmediate; // captured before any fake timer replaces it
const realTurn = (): Promise<void> => new Promise((resolve) => realImmediate(resolve));
const realTimeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
/** Unhandled rejections, collected for the scenario that is running (see the test below). */
const unhandled: unknown[] = [];
/** What the scenarios reached, printed once: proof that the generator gets where the bugs are. */
const reached: Record<string, number> = {};
const count = (what: string): void => void (reached[what] = (reached[what] ?? 0) + 1);

/** A seeded `Math.random` stand-in (mulberry32), for the queue's jitter. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One handler call, in `active` until its own promise ends, even after the queue gave up on it. */
interface Call {
  readonly consumer: number;
  readonly ids: readonly number[];
  /** With keyOf, every key of its messages: a keyed batch holds them all for the call. */
  readonly keys: readonly number[];
}

const show = (o: Outcome): string => (o.type === 'nacked' ? `nacked(${o.reason})` : o.type);

/** Runs one scenario on fake time; returns the violated invariants (empty: all held). */
async function runScenario(s: Scenario): Promise<string[]> {
  const keyed = s.keys > 0;
  const msg = (id: number): MessageSpec => s.messages[id] as MessageSpec;
  const violations: string[] = [];
  const t0 = Date.now();
  const now = (): number => Date.now() - t0;
  const violate = (what: string): void => void (violations.length < 12 && violations.push(`[${now()}ms] ${what}`));

  const produced = new Set<number>();
  /** Produced, not handed to any handler yet, not settled: what the queue holds unstarted. */
  const notStarted = new Set<number>();
  const settled = new Map<number, Outcome>();
  const calls = new Map<number, number>();
  const succeeded = new Set<number>();
  /** Message -> consumer, from its first handler call to its settlement (retries, dead letter). */
  const occupied = new Map<number, number>();
  const active = new Set<Call>();
  const lastStart = new Map<string, number>();
  /** Key -> the consumer that last started a message of it (its holder, as far as we can tell). */
  const holder = new Map<number, number>();
  const inEvent: number[] = [];
  const eventsSeen: number[][] = [];
  const dlPushed = new Set<number>();
  const dlConfirmed = new Set<number>();
  let batchesLeft = s.producers.reduce((n, p) => n + p.batches.length, 0);
  let starts = 0;
  let settles = 0;
  let stopCalledAt: number | undefined;
  let stopResolvedAt: number | undefined;
  let producedAtStop = 0;
  let statsAtStop: QueueStats | undefined;
  const maxBatch = Math.max(1, ...s.producers.flatMap((p) => p.batches.map((b) => b.messages.length)));
  // Memory bound (docs/queue.md): the channel, a batch in each producer's hand, per consumer a batch
  // (or run, keyed) or one message, and with keys the backlogs: below max(capacity, batchSize) + a batch.
  const perConsumer = keyed || s.batchMode ? s.batchSize : 1;
  const backlogs = keyed ? Math.max(s.capacity, s.batchSize) + s.batchSize : 0;
  const bound = s.capacity + s.producers.length * maxBatch + s.consumers * perConsumer + backlogs;
  /** Broadcasts in the order they were made; the event is the index here, so order can be checked. */
  const issued: { readonly step: Step; readonly afterStop: boolean; result?: number }[] = [];

  const hooks: Hooks = {
    produceCalled(p) {
      if (stopResolvedAt !== undefined) violate(`P${p}: produce() called after stop() resolved`);
    },
    listenerThrew(p, error) {
      violate(`P${p}: a listener's error reached the producer through pause/resume: ${String(error)}`);
    },
    produced(_p, ids) {
      batchesLeft--;
      for (const id of ids) {
        produced.add(id);
        notStarted.add(id);
      }
      if (notStarted.size > bound) violate(`${notStarted.size} messages held unstarted, above the bound ${bound}`);
    },
    callStarted(c, ids, ctx, step) {
      if (ids.length > s.batchSize) violate(`C${c}: a call of ${ids.length} messages, above batchSize ${s.batchSize}`);
      for (const id of ids) {
        const n = (calls.get(id) ?? 0) + 1;
        calls.set(id, n);
        if (ctx.attempt !== n) violate(`m${id}: context.attempt ${ctx.attempt} on its handler call #${n}`);
        if (!produced.has(id) || settled.has(id)) violate(`m${id} handed to a handler while not held by the queue`);
        occupied.set(id, c);
        if (n > 1) continue;
        notStarted.delete(id);
        const m = msg(id);
        if (!keyed || m.key === undefined) continue;
        const pk = `P${m.producer}/key ${m.key}`;
        const last = lastStart.get(pk) ?? -1;
        if (id < last) violate(`${pk}: m${id} started after m${last}, against produce order`);
        lastStart.set(pk, Math.max(last, id));
      }
      const keys = keyed ? [...new Set(ids.map((id) => msg(id).key))].filter((k) => k !== undefined) : [];
      for (const key of keys) {
        for (const o of active) {
          if (o.keys.includes(key))
            violate(`key ${key}: m${ids.join(',')} attempt ${ctx.attempt} started while m${o.ids.join(',')} runs`);
        }
        holder.set(key, c);
      }
      if (step.kind === 'hang' && s.timeoutMs > 0) count('handler calls outliving their timeout');
      const call: Call = { consumer: c, ids, keys };
      active.add(call);
      if (s.stopAt.kind === 'started' && ++starts === s.stopAt.n) stopQueue();
      return call;
    },
    callEnded(call, ok) {
      active.delete(call as Call);
      if (ok) for (const id of (call as Call).ids) succeeded.add(id);
    },
    eventStarted(c, seq) {
      const seen = (eventsSeen[c] ??= []);
      const last = seen[seen.length - 1] ?? -1;
      if (seq <= last) violate(`consumer ${c} got broadcast #${seq} after #${last}`);
      seen.push(seq);
      inEvent[c] = (inEvent[c] ?? 0) + 1;
      return (issued[seq] as (typeof issued)[number]).step;
    },
    eventEnded: (c) => void (inEvent[c] = (inEvent[c] ?? 1) - 1),
    pushStarted: (id) => void dlPushed.add(id),
    pushConfirmed: (id) => void dlConfirmed.add(id),
    settle(p, id, o) {
      const name = `m${id}`;
      count(o.type);
      if (stopResolvedAt !== undefined) violate(`${name} settled ${show(o)} after stop() resolved`);
      if (msg(id).producer !== p || !produced.has(id)) violate(`${name} settled on P${p}, which did not produce it`);
      const before = settled.get(id);
      if (before !== undefined) violate(`${name} settled twice: ${show(before)}, then ${show(o)}`);
      else settled.set(id, o);
      if (o.type === 'consumed' && !succeeded.has(id)) violate(`${name} consumed, but no handler call of it succeeded`);
      if (o.type === 'failed' || o.type === 'dead-lettered') {
        const n = calls.get(id) ?? 0;
        if (o.attempts !== n) violate(`${name} ${o.type} after ${o.attempts} attempt(s); its handler ran ${n} time(s)`);
        if ((o.type === 'failed') !== (s.deadLetter === undefined))
          violate(`${name} ${o.type}, dead letter ${!!s.deadLetter}`);
      }
      if (o.type === 'dead-lettered' && !dlConfirmed.has(id))
        violate(`${name} dead-lettered before its push completed`);
      if (o.type === 'nacked') {
        if (stopCalledAt === undefined) violate(`${name} ${show(o)} before stop() was called`);
        // Nacked after the dead letter has it: the source redelivers a message the dead letter holds.
        if (dlConfirmed.has(id)) violate(`${name} ${show(o)} although its dead-letter push had completed`);
        else if (dlPushed.has(id)) count('nacked while its dead-letter push was unfinished (allowed)');
      }
      notStarted.delete(id);
      occupied.delete(id);
      if (s.stopAt.kind === 'settled' && ++settles === s.stopAt.n) stopQueue();
    },
  };
  const queue = scenarioQueue(s, hooks);
  const broadcast = (i: number): void => {
    const b: (typeof issued)[number] = {
      step: (s.broadcasts[i] as Scenario['broadcasts'][number]).onEvent,
      afterStop: stopResolvedAt !== undefined,
    };
    issued.push(b);
    void queue.broadcast(issued.length - 1).then((n) => void (b.result = n));
  };

  function stopQueue(): void {
    if (stopCalledAt !== undefined) return;
    stopCalledAt = now();
    queue.stop({ timeoutMs: s.stopTimeoutMs }).then(
      () => {
        stopResolvedAt = now();
        producedAtStop = produced.size;
        statsAtStop = queue.stats();
      },
      (error: unknown) => {
        violate(`stop() rejected: ${String(error)}`);
        stopResolvedAt = now();
      },
    );
  }

  /**
   * Work conservation: a message whose key is free (no call of it running, zombies included, and its
   * holder not busy) must not wait STARVE_MS while a consumer is idle. With keys, only while the
   * queue holds no more unstarted messages than its channel alone could hold: a queue whose key
   * backlogs are full may stop taking from the channel (back-pressure), and is not blamed for that.
   */
  const busy = (c: number): boolean =>
    (inEvent[c] ?? 0) > 0 || [...active].some((a) => a.consumer === c) || [...occupied.values()].includes(c);
  const keyFree = (key: number): boolean => {
    const h = holder.get(key);
    if (h !== undefined && busy(h)) return false;
    return ![...active].some((a) => a.keys.includes(key)) && ![...occupied.keys()].some((id) => msg(id).key === key);
  };
  let starvingSince: number | undefined;
  let starved = false;
  const checkStarving = (): void => {
    let idle = 0;
    for (let c = 0; c < s.consumers; c++) if (!busy(c)) idle++;
    const waiting =
      idle === 0 || (keyed && notStarted.size > s.capacity)
        ? undefined
        : [...notStarted].find((id) => !keyed || msg(id).key === undefined || keyFree(msg(id).key as number));
    if (waiting === undefined) return void (starvingSince = undefined);
    starvingSince ??= now();
    if (now() - starvingSince >= STARVE_MS && !starved) {
      starved = true; // once is enough
      violate(
        `m${waiting} (${msg(waiting).key === undefined ? 'no key' : `key ${msg(waiting).key}`}) waited ${now() - starvingSince} ms unstarted, its key free, ${idle} consumer(s) idle`,
      );
    }
  };

  const tick = async (): Promise<void> => {
    try {
      await vi.advanceTimersByTimeAsync(1);
    } catch (error) {
      violate(`an error escaped into a timer callback: ${String(error)}`);
    }
  };

  const timeoutsBefore = realTimeouts();
  const due = s.broadcasts
    .flatMap((b, i) => (b.atMs === undefined ? [] : [{ at: b.atMs, i }]))
    .sort((a, b) => a.at - b.at);
  for (const [i, b] of s.broadcasts.entries()) if (b.atMs === undefined) broadcast(i);
  if (s.stopAt.kind === 'before-start') stopQueue();
  queue.start().then(undefined, (error: unknown) => violate(`start() rejected: ${String(error)}`));
  for (;;) {
    while (due.length > 0 && (due[0] as (typeof due)[number]).at <= now())
      broadcast((due.shift() as (typeof due)[number]).i);
    if (s.stopAt.kind === 'at-ms' && now() >= s.stopAt.n) stopQueue();
    if ((batchesLeft === 0 && settled.size === produced.size) || now() >= GIVE_UP_MS) stopQueue();
    if (stopResolvedAt !== undefined) break;
    if (stopCalledAt !== undefined) {
      const waited = now() - stopCalledAt;
      const limit = Number.isFinite(s.stopTimeoutMs) ? s.stopTimeoutMs + STOP_SLACK_MS : GIVE_UP_MS;
      if (waited > limit) {
        violate(`stop({ timeoutMs: ${s.stopTimeoutMs} }) still pending ${waited} ms after it was called`);
        break;
      }
      // No timer left and every microtask run: nothing can ever happen again.
      if (vi.getTimerCount() === 0) await realTurn();
      if (vi.getTimerCount() === 0 && stopResolvedAt === undefined) {
        violate('stop() can never resolve: no timer is left to wake anything');
        break;
      }
    }
    checkStarving();
    await tick();
  }
  // Broadcasts due after the stop: they must resolve with 0 at once.
  for (const { i } of due) broadcast(i);
  for (let i = 0; i < LATE_MS && vi.getTimerCount() > 0; i++) await tick();
  await realTurn(); // unhandled rejections are reported between macrotasks
  await realTurn();

  if (stopResolvedAt !== undefined) {
    for (const id of produced) if (!settled.has(id)) violate(`m${id} produced, never settled`);
    if (vi.getTimerCount() > 0) violate(`${vi.getTimerCount()} timer(s) still pending ${LATE_MS} ms after stop()`);
    const st = statsAtStop;
    const sum = st && st.consumed + st.failed + st.deadLettered + st.nacked;
    if (st && (sum !== producedAtStop || st.produced !== producedAtStop)) {
      violate(
        `stats() at stop: produced ${st.produced}, consumed+failed+deadLettered+nacked ${sum}; produce() gave ${producedAtStop}`,
      );
    }
  }
  for (const [seq, b] of issued.entries()) {
    if (b.result === undefined) violate(`broadcast #${seq}${b.afterStop ? ' (after stop)' : ''} never resolved`);
    else if (b.result > s.consumers || (b.afterStop && b.result !== 0))
      violate(`broadcast #${seq} resolved ${b.result}`);
  }
  if (realTimeouts() > timeoutsBefore) violate(`${realTimeouts() - timeoutsBefore} real Timeout(s) left behind`);
  for (const reason of unhandled.splice(0)) violate(`unhandled rejection: ${String(reason)}`);
  return violations;
}

describe('Queue against a model (fast-check, fake time)', () => {
  it(
    `keeps every invariant over ${RUNS} generated scenarios`,
    async () => {
      // Unhandled rejections become violations of the scenario that caused them, instead of vitest
      // errors that name no scenario; vitest's own listeners are back in place afterwards.
      const saved = process.listeners('unhandledRejection');
      process.removeAllListeners('unhandledRejection');
      const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      const seed = process.env.Q_MODEL_SEED === undefined ? undefined : Number(process.env.Q_MODEL_SEED);
      const path = process.env.Q_MODEL_PATH;
      const started = performance.now();
      try {
        await fc.assert(
          fc.asyncProperty(scenarioArb, async (s) => {
            const random = Math.random;
            Math.random = mulberry32(s.seed); // the queue's jitter: seeded, so a seed replays exactly
            vi.useFakeTimers({ toFake: [...FAKED, 'Date', 'performance'], now: 0 });
            count('scenarios');
            try {
              const violations = await runScenario(s);
              if (violations.length > 0) throw new Error(`violated:\n  ${violations.join('\n  ')}`);
            } finally {
              vi.clearAllTimers();
              vi.useRealTimers();
              Math.random = random;
            }
          }),
          {
            numRuns: RUNS,
            verbose: process.env.Q_MODEL_VERBOSE === '1', // also list every failure met while shrinking
            ...(seed === undefined ? {} : { seed }),
            ...(path === undefined ? {} : { path }),
          },
        );
      } finally {
        process.off('unhandledRejection', onUnhandled);
        for (const listener of saved) process.on('unhandledRejection', listener);
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        console.log(`queue model: ${seconds} s; reached ${JSON.stringify(reached)}`);
      }
    },
    60_000 + RUNS * 50,
  );
});
