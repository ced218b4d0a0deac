import {
  type ConsumeContext,
  type Consumer,
  type Outcome,
  type ProduceListener,
  type Producer,
  type Pusher,
  Queue,
  silentLogger,
} from '@q/core';
import fc from 'fast-check';

/**
 * Whole Queue scenarios for the model test (queue-model.test.ts): what the producers return, what
 * each handler attempt does, the options, the listeners, broadcasts and when stop() comes. Every
 * field shrinks towards "simpler" (one producer, ok handlers, no dead letter, stop at 0 ms), so a
 * shrunk counterexample names only what the failure needs. Durations are in fake milliseconds.
 */

/** What one handler attempt (or one `onEvent` call) does. */
export type StepKind = 'ok' | 'throw' | 'hang' | 'slow' | 'abortable';
export interface Step {
  readonly kind: StepKind;
  /** Raw duration; {@link stepMs} turns it into the duration of this kind. */
  readonly ms: number;
  /** `ok` and `throw` only: return or throw synchronously, without a promise. */
  readonly sync: boolean;
}

export interface MessageSpec {
  /** Unique, and increasing in produce order within a producer (the order invariant relies on it). */
  readonly id: number;
  readonly producer: number;
  readonly key: number | undefined;
  /** Attempt k does `steps[k - 1]` (the last one repeats). */
  readonly steps: readonly Step[];
}

/** One `produce()` result: a batch; a batch of one returned bare unless `asArray`. */
export interface BatchSpec {
  readonly asArray: boolean;
  readonly messages: readonly MessageSpec[];
}

export interface ProducerSpec {
  readonly batches: readonly BatchSpec[];
  /** undefined: `produce()` returns synchronously; else it resolves after this long (or empty on abort). */
  readonly delayMs: number | undefined;
  /** The `produce()` call (0-based) that first reports a pause; the next call reports the resume. */
  readonly pauseAt: number | undefined;
}

export interface DeadLetterSpec {
  /** Offers `pushAndConfirm` (else only `push`, and the queue trusts `push`). */
  readonly confirm: boolean;
  readonly ms: number;
  /** The first `failures` pushes of each message reject. */
  readonly failures: number;
  /** `push` only, 0 ms: returns (or throws) synchronously. */
  readonly sync: boolean;
}

export type StopAt =
  | { readonly kind: 'at-ms'; readonly n: number }
  | { readonly kind: 'started' | 'settled'; readonly n: number }
  | { readonly kind: 'before-start'; readonly n: 0 };

export type ThrowingEvent = 'drain' | 'dead-letter' | 'pause' | 'resume';

export interface BroadcastSpec {
  /** Fake time of the broadcast; undefined: before `start()`. */
  readonly atMs: number | undefined;
  readonly onEvent: Step;
}

export interface Scenario {
  readonly producers: readonly ProducerSpec[];
  readonly consumers: number;
  readonly capacity: number;
  readonly batchSize: number;
  /** Consumers offer `consumeBatch` (with `keys > 0`: keyed batches, each holding all its keys). */
  readonly batchMode: boolean;
  /** 0: no `keyOf`; else `keyOf` returns each message's key (mod `keys`, or undefined). */
  readonly keys: number;
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly retryMinMs: number;
  readonly jitter: boolean;
  readonly deadLetter: DeadLetterSpec | undefined;
  readonly throwing: readonly ThrowingEvent[];
  /** 'error' listeners are special: the queue must survive one that throws, and none at all. */
  readonly errorListener: 'none' | 'ok' | 'throws';
  readonly broadcasts: readonly BroadcastSpec[];
  readonly stopAt: StopAt;
  /** `stop({ timeoutMs })`: 0..50 or Infinity. */
  readonly stopTimeoutMs: number;
  readonly idleDelayMs: number;
  readonly statsIntervalMs: number;
  /** Seeds the `Math.random` the queue's jitter uses, so a failing scenario replays exactly. */
  readonly seed: number;
  readonly messages: readonly MessageSpec[];
}

/** Duration of a step in fake ms; `hang` outlives the handler timeout, ignoring its signal. */
export function stepMs(step: Step, timeoutMs: number): number {
  if (step.kind === 'ok' || step.kind === 'throw') return step.ms % 4;
  if (step.kind === 'hang') return timeoutMs + 1 + (step.ms % 10);
  return 5 + step.ms; // slow, abortable: long enough to hold a key while others wait
}

const kind = fc.oneof(
  { weight: 5, arbitrary: fc.constant<StepKind>('ok') },
  { weight: 2, arbitrary: fc.constant<StepKind>('throw') },
  { weight: 1, arbitrary: fc.constant<StepKind>('hang') },
  { weight: 1, arbitrary: fc.constant<StepKind>('slow') },
  { weight: 1, arbitrary: fc.constant<StepKind>('abortable') },
);
const step: fc.Arbitrary<Step> = fc.record({ kind, ms: fc.nat({ max: 40 }), sync: fc.boolean() });
const message = fc.record({
  key: fc.option(fc.nat({ max: 2 }), { freq: 6 }),
  steps: fc.array(step, { minLength: 1, maxLength: 3 }),
});
const batch = fc.record({ asArray: fc.boolean(), messages: fc.array(message, { minLength: 1, maxLength: 4 }) });
const producer = fc.record({
  batches: fc.array(batch, { maxLength: 4 }),
  delayMs: fc.option(fc.nat({ max: 3 }), { nil: undefined }),
  pauseAt: fc.option(fc.nat({ max: 4 }), { nil: undefined, freq: 4 }),
});
const stopAt: fc.Arbitrary<StopAt> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('at-ms' as const), n: fc.nat({ max: 80 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constantFrom('started' as const, 'settled' as const),
      n: fc.integer({ min: 1, max: 30 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'before-start' as const, n: 0 as const }) },
);

/** The scenario generator. */
export const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    producers: fc.array(producer, { minLength: 1, maxLength: 3 }),
    consumers: fc.integer({ min: 1, max: 4 }),
    capacity: fc.nat({ max: 8 }),
    batchSize: fc.integer({ min: 1, max: 4 }),
    batchMode: fc.boolean(),
    keys: fc.nat({ max: 3 }),
    timeoutMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 8 })),
    attempts: fc.integer({ min: 1, max: 3 }),
    retryMinMs: fc.nat({ max: 2 }),
    jitter: fc.boolean(),
    deadLetter: fc.option(
      fc.record({ confirm: fc.boolean(), ms: fc.nat({ max: 20 }), failures: fc.nat({ max: 2 }), sync: fc.boolean() }),
      { nil: undefined },
    ),
    // Mostly none, so that the scenarios a throwing listener would cut short get their share too.
    throwing: fc.oneof(
      { weight: 3, arbitrary: fc.constant<ThrowingEvent[]>([]) },
      { weight: 1, arbitrary: fc.subarray<ThrowingEvent>(['drain', 'dead-letter', 'pause', 'resume']) },
    ),
    errorListener: fc.constantFrom('none' as const, 'ok' as const, 'throws' as const),
    broadcasts: fc.array(fc.record({ atMs: fc.option(fc.nat({ max: 60 }), { nil: undefined }), onEvent: step }), {
      maxLength: 2,
    }),
    stopAt,
    stopTimeoutMs: fc.oneof(
      { weight: 4, arbitrary: fc.nat({ max: 50 }) },
      { weight: 1, arbitrary: fc.constant(Infinity) },
    ),
    idleDelayMs: fc.integer({ min: 1, max: 20 }),
    statsIntervalMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10 })),
    seed: fc.nat(),
  })
  .map((raw) => {
    // Ids in produce order, producer after producer.
    let id = 0;
    const messages: MessageSpec[] = [];
    const producers = raw.producers.map((p, pi) => ({
      ...p,
      batches: p.batches.map((b) => ({
        asArray: b.asArray,
        messages: b.messages.map((m) => {
          const key = m.key === null || raw.keys === 0 ? undefined : m.key % raw.keys;
          const spec: MessageSpec = { id: id++, producer: pi, key, steps: m.steps };
          messages.push(spec);
          return spec;
        }),
      })),
    }));
    const s: Scenario = { ...raw, producers, messages };
    return Object.assign(s, { [fc.toStringMethod]: () => describeScenario(s) });
  });

const describeStep = (s: Step, timeoutMs: number): string =>
  `${s.kind}${s.sync && (s.kind === 'ok' || s.kind === 'throw') ? '(sync)' : `(${stepMs(s, timeoutMs)}ms)`}`;

const stopWhen = {
  'at-ms': 'at #ms',
  started: 'inside handler call #',
  settled: 'inside settlement #',
  'before-start': 'before start()',
};

/** A readable scenario, for the counterexample fast-check prints. */
export function describeScenario(s: Scenario): string {
  const mode = `${s.batchMode ? 'consumeBatch' : 'consume'}${s.keys > 0 ? ` keyed(${s.keys} keys)` : ''}`;
  const dl = s.deadLetter;
  const lines = [
    `Scenario (jitter seed ${s.seed}): ${s.producers.length} producer(s), ${s.consumers} consumer(s), capacity ${s.capacity}, ` +
      `batchSize ${s.batchSize}, ${mode}, ` +
      `timeoutMs ${s.timeoutMs}, retry ${s.attempts}x from ${s.retryMinMs}ms${s.jitter ? ' jitter' : ''}, ` +
      `idle ${s.idleDelayMs}ms, stats ${s.statsIntervalMs}ms`,
    `  dead letter: ${dl === undefined ? 'none' : `${dl.confirm ? 'pushAndConfirm' : 'push'} ${dl.sync && !dl.confirm && dl.ms === 0 ? 'sync' : `${dl.ms}ms`}, ${dl.failures} failure(s) per message`}`,
    `  listeners: throwing [${s.throwing.join(', ')}], error listener ${s.errorListener}`,
    `  stop: ${stopWhen[s.stopAt.kind].replace('#', `#${s.stopAt.n}`)}, timeoutMs ${s.stopTimeoutMs}`,
  ];
  for (const [i, b] of s.broadcasts.entries()) {
    lines.push(
      `  broadcast #${i} ${b.atMs === undefined ? 'before start()' : `at ${b.atMs}ms`}, onEvent ${describeStep(b.onEvent, s.timeoutMs)}`,
    );
  }
  for (const [pi, p] of s.producers.entries()) {
    const head = `  P${pi}${p.delayMs === undefined ? ' sync' : ` ${p.delayMs}ms`}${p.pauseAt === undefined ? '' : ` pause@${p.pauseAt}`}:`;
    const batches = p.batches.map((b) => {
      const ms = b.messages.map(
        (m) =>
          `m${m.id}${m.key === undefined ? '' : ` k${m.key}`} ${m.steps.map((st) => describeStep(st, s.timeoutMs)).join('>')}`,
      );
      return b.asArray || ms.length > 1 ? `[${ms.join(', ')}]` : ms[0];
    });
    lines.push(`${head} ${batches.join(' ') || '(nothing)'}`);
  }
  return lines.join('\n');
}

/** Resolves after `ms` (fake), or with true as soon as `signal` aborts; leaves no timer or listener. */
export const pause = (ms: number, signal?: AbortSignal): Promise<boolean> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve(true);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** What the scenario's fakes tell the model (queue-model.test.ts), which checks the invariants. */
export interface Hooks {
  produceCalled(p: number): void;
  /** A pause or resume report threw back into the producer. */
  listenerThrew(p: number, error: unknown): void;
  produced(p: number, ids: readonly number[]): void;
  settle(p: number, id: number, outcome: Outcome): void;
  /** A handler call starts; `callEnded` gets the same token when its own promise ends. */
  callStarted(c: number, ids: readonly number[], ctx: ConsumeContext, step: Step): object;
  callEnded(token: object, ok: boolean): void;
  /** `onEvent(seq)` starts; answers how it behaves. */
  eventStarted(c: number, seq: number): Step;
  eventEnded(c: number): void;
  pushStarted(id: number): void;
  pushConfirmed(id: number): void;
}

/** The scenario as a Queue: its producers, consumers, dead-letter pusher, options and listeners. */
export function scenarioQueue(s: Scenario, h: Hooks): Queue<number> {
  let producersMade = 0;
  const producer = (): Producer<number> => {
    const p = producersMade++;
    const ps = s.producers[p] ?? { batches: [], delayMs: undefined, pauseAt: undefined };
    let next = 0;
    let calls = 0;
    let paused = false;
    let listener: ProduceListener | undefined;
    const take = (): number | number[] | undefined => {
      const b = ps.batches[next++];
      if (b === undefined) return undefined;
      const ids = b.messages.map((m) => m.id);
      h.produced(p, ids);
      return b.asArray || ids.length > 1 ? ids : ids[0];
    };
    return {
      addListener: (l) => void (listener = l),
      produce(signal) {
        h.produceCalled(p);
        const resume = paused;
        paused = calls++ === ps.pauseAt;
        try {
          if (resume) listener?.onProducerResume();
          if (paused) listener?.onProducerPause();
        } catch (error) {
          h.listenerThrew(p, error);
        }
        if (ps.delayMs === undefined) return take();
        // A long poll that honours its signal: on abort it ends empty and the batch stays in the source.
        return pause(ps.delayMs, signal).then((aborted) => (aborted ? undefined : take()));
      },
      settle: (id, outcome) => h.settle(p, id, outcome),
    };
  };

  const call = (c: number, ids: readonly number[], ctx: ConsumeContext): void | Promise<void> => {
    const steps = (s.messages[ids[0] as number] as MessageSpec).steps;
    const step = steps[Math.min(ctx.attempt, steps.length) - 1] as Step;
    const token = h.callStarted(c, ids, ctx, step);
    const fail = (): Error => new Error(`m${ids.join(',')} attempt ${ctx.attempt} fails`);
    if (step.sync && step.kind === 'ok') return h.callEnded(token, true);
    if (step.sync && step.kind === 'throw') {
      h.callEnded(token, false);
      throw fail();
    }
    // Only `abortable` listens to the signal; `hang` ignores it on purpose.
    return pause(stepMs(step, s.timeoutMs), step.kind === 'abortable' ? ctx.signal : undefined).then((aborted) => {
      h.callEnded(token, step.kind !== 'throw' && !aborted);
      if (step.kind === 'throw' || aborted) throw fail();
    });
  };
  const onEvent = (c: number, seq: number): void | Promise<void> => {
    const step = h.eventStarted(c, seq);
    const end = (): void => {
      h.eventEnded(c);
      if (step.kind === 'throw') throw new Error(`onEvent #${seq} fails`);
    };
    return step.sync && (step.kind === 'ok' || step.kind === 'throw')
      ? end()
      : pause(stepMs(step, s.timeoutMs)).then(end);
  };
  let consumersMade = 0;
  const consumer = (): Consumer<number> => {
    const c = consumersMade++;
    const batchMode = { consumeBatch: (ids: readonly number[], ctx: ConsumeContext) => call(c, ids, ctx) };
    return {
      consume: (id, ctx) => call(c, [id], ctx),
      onEvent: (e) => onEvent(c, e as number),
      ...(s.batchMode ? batchMode : {}),
    };
  };

  const pushes = new Map<number, number>();
  const push = (id: number): void | Promise<void> => {
    const d = s.deadLetter as DeadLetterSpec;
    const n = (pushes.get(id) ?? 0) + 1;
    pushes.set(id, n);
    h.pushStarted(id);
    const complete = (): void => {
      if (n <= d.failures) throw new Error(`dead-letter push #${n} of m${id} fails`);
      h.pushConfirmed(id);
    };
    return d.sync && !d.confirm && d.ms === 0 ? complete() : pause(d.ms).then(complete);
  };
  const confirming = { pushAndConfirm: async (id: number) => push(id) };
  const deadLetter: Pusher<number> | undefined = s.deadLetter && {
    name: () => 'model-dead-letter',
    push,
    ...(s.deadLetter.confirm ? confirming : {}),
  };

  const queue = new Queue<number>(producer, consumer, {
    producers: s.producers.length,
    consumers: s.consumers,
    capacity: s.capacity,
    batchSize: s.batchSize,
    timeoutMs: s.timeoutMs,
    retry: { attempts: s.attempts, minDelayMs: s.retryMinMs, maxDelayMs: 4, jitter: s.jitter },
    deadLetter,
    deadLetterBackoff: { minDelayMs: 0, maxDelayMs: 3 },
    keyOf: s.keys > 0 ? (id) => s.messages[id]?.key : undefined,
    logger: silentLogger,
    statsIntervalMs: s.statsIntervalMs,
    idleDelayMs: s.idleDelayMs,
  });
  for (const event of s.throwing) {
    queue.on(event, () => {
      throw new Error(`'${event}' listener throws`);
    });
  }
  if (s.errorListener !== 'none') {
    queue.on('error', () => {
      if (s.errorListener === 'throws') throw new Error("'error' listener throws");
    });
  }
  return queue;
}
