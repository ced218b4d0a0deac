import { Deque, whenAborted } from '@q/core/internal';
import { DirectTimeoutError, OutboxClosedError, OutboxFullError } from './errors.js';
import type { Reporter, SpillReason } from './events.js';
import { type RoomWait, waitForRoom } from './full.js';
import type { LogWriter } from './log-writer.js';
import { type Accepted, sinkMessageOfAccepted } from './message.js';
import type { ResolvedOutboxOptions } from './options.js';
import { isPermanentGuarded } from './permanent.js';
import type { SinkLane } from './sink-batch.js';
import type { SinkHealth } from './sink-health.js';
import type { OutboxSinkMessage } from './sink-message.js';
import type { OutboxCounters } from './stats.js';

/** What the direct path works with, owned by the outbox. */
export interface DirectParts {
  readonly outboxId: string;
  readonly options: ResolvedOutboxOptions;
  readonly lane: SinkLane;
  readonly health: SinkHealth;
  readonly reporter: Reporter;
  readonly counters: OutboxCounters;
  readonly writer: LogWriter;
  readonly room: RoomWait;
}

const noop = (): void => undefined;
const TIMEOUT = Symbol('timeout');
const CLOSED = Symbol('closed');

/** One `send` or `sendBatch` waiting in memory: its messages have the seqs `first`, `first + 1`, .... */
class Unit {
  readonly items: readonly Accepted[];
  readonly first: number;
  readonly done: Promise<number[]>;
  #resolve: (seqs: number[]) => void = noop;
  #reject: (err: unknown) => void = noop;
  #settled = false;
  /** Taken into a batch or a spill: an abort no longer withdraws it. */
  taken = false;
  withdrawn = false;
  /** For a batch whose outcome was not waited for (timeout, close): whether the sink confirmed it after all. */
  late: Promise<boolean> | undefined;
  cancelAbort: () => void = noop;

  constructor(items: readonly Accepted[], first: number) {
    this.items = items;
    this.first = first;
    this.done = new Promise<number[]>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** The send is safe (confirmed by the sink, or in the log): counted once, however it got there. */
  safe(counters: OutboxCounters, direct: boolean): void {
    if (this.#settled) return;
    this.#settled = true;
    counters.accepted += this.items.length;
    if (direct) counters.direct += this.items.length;
    this.#resolve(this.items.map((_, i) => this.first + i));
  }

  /** The send was not taken (unless the sink confirms a batch it was still in: then it is safe). */
  fail(err: unknown, counters: OutboxCounters): void {
    if (this.#settled) return;
    if (this.late === undefined) {
      this.#settled = true;
      this.#reject(err);
    } else void this.late.then((ok) => (ok ? this.safe(counters, true) : this.fail(err, counters)));
    this.late = undefined;
  }
}

/** The batch being pushed directly. */
interface InFlight {
  readonly units: Unit[];
  readonly messages: number;
  /** Resolves with the units the sink did not confirm, once the outcome is known or given up on. */
  readonly unconfirmed: Promise<Unit[]>;
  /** Whether the sink confirmed the whole batch, whenever it answers. */
  readonly confirmed: Promise<boolean>;
  /**
   * Stops waiting for the outcome (close): `unconfirmed` resolves with every unit at once, each made safe
   * by the sink's late confirm should the log fail it.
   */
  readonly giveUp: () => void;
}

/**
 * Direct-first: messages wait in memory and go to the sink in batches, one in flight, without touching
 * the disk. A batch that fails or is not confirmed within `directTimeoutMs`, or a backlog beyond
 * `maxDirectBacklog`, spills: the unconfirmed batch and everything waiting are appended to the log in
 * seq order, and every later send goes to the log until the forwarder has drained it; then back to direct.
 */
export class DirectPath {
  readonly #p: DirectParts;
  readonly #queue = new Deque<Unit>();
  #queued = 0;
  #inflight: InFlight | undefined;
  #pumping = false;
  #spilling = false;
  #switch: { readonly done: Promise<void>; readonly end: () => void } | undefined;
  /**
   * Where sends go now. `'switching'`: the forwarder has caught up but log appends are still under way;
   * new sends wait (at most `directTimeoutMs`) until those are forwarded too, then go direct.
   */
  route: 'direct' | 'log' | 'switching';
  /** Settles when the spill under way is in the log: log sends wait for it, so they come after it. */
  gate: Promise<void> = Promise.resolve();

  constructor(parts: DirectParts, route: 'direct' | 'log') {
    this.#p = parts;
    this.route = route;
  }

  /** Whether sends go straight to the sink now. */
  isDirect(): boolean {
    return this.route === 'direct';
  }

  /** Messages waiting in memory or in the batch in flight. */
  get pending(): number {
    return this.#queued + (this.#inflight?.messages ?? 0);
  }

  /** Queues messages whose seqs were just taken; resolves with the seqs once the sink or the log has them. */
  enqueue(items: readonly Accepted[], first: number, signal: AbortSignal | undefined): Promise<number[]> {
    const unit = new Unit(items, first);
    if (signal !== undefined)
      unit.cancelAbort = whenAborted(signal, () => {
        if (unit.taken || unit.withdrawn) return;
        unit.withdrawn = true;
        this.#queued -= items.length;
        unit.fail(signal.reason, this.#p.counters);
      });
    this.#queue.push(unit);
    this.#queued += items.length;
    if (this.#queued > this.#p.options.maxDirectBacklog) void this.spill('backlog');
    else this.#pump();
    return unit.done;
  }

  /** Resolves when a switch back to direct under way has ended (either way); at once when none is. */
  get switched(): Promise<void> {
    return this.#switch?.done ?? Promise.resolve();
  }

  /**
   * The forwarder has forwarded everything durable. With no spill or log append under way, sends go
   * direct again. With appends under way (a steady stream of sends never leaves the log idle), new sends
   * are held until those are forwarded too, so none of them can reach the sink after a direct one.
   */
  drained(): void {
    if (this.route === 'direct' || this.#spilling || this.#p.room.closing.aborted) return;
    if (this.#p.writer.pending > 0) {
      if (this.route === 'log') this.#startSwitch();
      return;
    }
    this.#endSwitch();
    this.route = 'direct';
    this.#p.reporter.logger.info({}, 'outbox: the log is drained; sending direct again');
    this.#pump();
  }

  #startSwitch(): void {
    this.route = 'switching';
    let end: () => void = noop;
    const done = new Promise<void>((resolve) => {
      end = resolve;
    });
    // The sink may fail again before the rest is forwarded: held sends then go to the log after all.
    const timer = setTimeout(() => {
      if (this.#switch?.done !== done) return;
      this.#endSwitch();
      this.route = 'log';
    }, this.#p.options.directTimeoutMs);
    this.#switch = {
      done,
      end: () => {
        clearTimeout(timer);
        end();
      },
    };
  }

  #endSwitch(): void {
    const sw = this.#switch;
    this.#switch = undefined;
    sw?.end();
  }

  /**
   * Sends what waits in memory to the log, and every later send, until the log is drained; resolves once
   * the spill is in the log. A batch in flight comes first: on `'backlog'` its outcome is waited for (at
   * most `directTimeoutMs`), so a batch the sink confirms is not written twice; on `'close'` it is
   * spilled at once (it may then reach the sink twice: same ids).
   */
  spill(reason: SpillReason, failedBatch?: Unit[]): Promise<void> {
    if (this.route !== 'direct') {
      // A spill under way may wait for the batch in flight (up to directTimeoutMs): close does not.
      if (reason === 'close') this.#inflight?.giveUp();
      this.#endSwitch();
      this.route = 'log';
      return this.gate;
    }
    this.route = 'log';
    this.#spilling = true;
    let head: Promise<Unit[]> = Promise.resolve(failedBatch ?? []);
    const inflight = this.#inflight;
    if (failedBatch === undefined && inflight !== undefined) {
      if (reason === 'close') inflight.giveUp();
      head = inflight.unconfirmed;
    }
    this.gate = this.#spillAppend(reason, head).finally(() => {
      this.#spilling = false;
    });
    return this.gate;
  }

  #takeQueued(maxMessages: number, maxBytes: number): Unit[] {
    const units: Unit[] = [];
    let messages = 0;
    let bytes = 0;
    for (let u = this.#queue.peek(); u !== undefined; u = this.#queue.peek()) {
      if (u.withdrawn) {
        this.#queue.shift();
        continue;
      }
      const b = u.items.reduce((n, a) => n + a.body.length, 0);
      if (units.length > 0 && (messages + u.items.length > maxMessages || bytes + b > maxBytes)) break;
      this.#queue.shift();
      u.taken = true;
      u.cancelAbort();
      units.push(u);
      messages += u.items.length;
      bytes += b;
    }
    this.#queued -= messages;
    return units;
  }

  #pump(): void {
    if (this.#pumping || this.route !== 'direct') return;
    this.#pumping = true;
    void this.#pumpLoop().finally(() => {
      this.#pumping = false;
      // Sends queued while the loop was ending found it still pumping.
      if (this.#queued > 0) this.#pump();
    });
  }

  async #pumpLoop(): Promise<void> {
    const { options, lane, health, counters, outboxId } = this.#p;
    while (this.route === 'direct') {
      const units = this.#takeQueued(options.batchMessages, options.batchBytes);
      if (units.length === 0) return;
      const messages: OutboxSinkMessage[] = [];
      for (const u of units)
        for (let i = 0; i < u.items.length; i++)
          messages.push(sinkMessageOfAccepted(u.items[i] as Accepted, outboxId, u.first + i));
      const push = lane.push(messages);
      let settle: (failed: Unit[]) => void = noop;
      const confirmedLate = push.then((f) => f === undefined);
      this.#inflight = {
        units,
        messages: messages.length,
        unconfirmed: new Promise((r) => {
          settle = r;
        }),
        confirmed: confirmedLate,
        giveUp: () => {
          for (const u of units) u.late = confirmedLate;
          settle(units);
        },
      };
      let timer: NodeJS.Timeout | undefined;
      let cancelClosed = noop;
      const outcome = await Promise.race([
        push,
        new Promise<typeof TIMEOUT>((r) => {
          timer = setTimeout(() => r(TIMEOUT), options.directTimeoutMs);
        }),
        new Promise<typeof CLOSED>((r) => {
          cancelClosed = whenAborted(this.#p.room.closing, () => r(CLOSED));
        }),
      ]);
      clearTimeout(timer);
      cancelClosed();
      if (outcome === CLOSED) {
        // close() spills the batch at once, whichever of the two gets here first; nothing of it is
        // judged after close (no timeout, no sink-down), and its timer is gone.
        void this.spill('close');
        this.#inflight = undefined;
        return;
      }
      const confirmed = this.#inflight.confirmed;
      this.#inflight = undefined;
      if (outcome === undefined) {
        health.succeeded();
        for (const u of units) u.safe(counters, true);
        settle([]);
        continue;
      }
      let failed = units;
      let error: unknown;
      if (outcome === TIMEOUT) {
        error = new DirectTimeoutError(options.directTimeoutMs);
        for (const u of units) u.late = confirmed;
      } else {
        error = outcome.error;
        if (outcome.failed !== undefined) failed = this.#unconfirmedUnits(units, outcome.failed);
      }
      if (!isPermanentGuarded(options.isPermanent, error, this.#p.reporter)) health.failed(error);
      settle(failed);
      if (this.route === 'direct') void this.spill(outcome === TIMEOUT ? 'timeout' : 'error', failed);
      return;
    }
  }

  /** Marks safe the units whose every message was confirmed; returns the others. */
  #unconfirmedUnits(units: Unit[], failed: readonly { readonly index: number }[]): Unit[] {
    const bad = new Set(failed.map((f) => f.index));
    const out: Unit[] = [];
    let index = 0;
    for (const u of units) {
      let ok = true;
      for (let i = 0; i < u.items.length; i++) if (bad.has(index++)) ok = false;
      if (ok) u.safe(this.#p.counters, true);
      else out.push(u);
    }
    return out;
  }

  async #spillAppend(reason: SpillReason, head: Promise<Unit[]>): Promise<void> {
    const { reporter, counters } = this.#p;
    const units = (await head).concat(this.#takeQueued(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY));
    const messages = units.reduce((n, u) => n + u.items.length, 0);
    if (messages === 0) return;
    counters.spilled += messages;
    // A send with an idempotency key going through the log is routine, not a sign of trouble.
    const level = reason === 'idempotency-key' ? 'debug' : 'warn';
    reporter.logger[level]({ reason, messages }, 'outbox: direct sends spill to the log until it is drained');
    reporter.emit('spill', { reason, messages });
    const { batchMessages, batchBytes } = this.#p.options;
    // In pieces, in order: one spill larger than maxBytes must not wait for room that can never come.
    const pieceBytes = Math.min(batchBytes, this.#p.room.maxBytes / 4);
    for (let i = 0; i < units.length; ) {
      let end = i;
      let n = 0;
      let bytes = 0;
      do {
        const u = units[end++] as Unit;
        n += u.items.length;
        bytes += u.items.reduce((s, a) => s + a.bytes, 0);
      } while (end < units.length && n < batchMessages && bytes < pieceBytes);
      const piece = units.slice(i, end);
      try {
        await this.#appendPiece(piece, bytes);
      } catch (err) {
        if (!(err instanceof OutboxFullError || err instanceof OutboxClosedError))
          reporter.error(err, 'spill', 'outbox: spilling direct sends to the log failed');
        for (const u of units.slice(i)) u.fail(err, counters);
        return;
      }
      for (const u of piece) u.safe(counters, false);
      i = end;
    }
  }

  async #appendPiece(piece: Unit[], bytes: number): Promise<void> {
    const items = piece.flatMap((u) => u.items.map((accepted, i) => ({ accepted, seq: u.first + i })));
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#p.writer.appendWithSeqs(items);
      } catch (err) {
        await waitForRoom(err, attempt, this.#p.room, undefined, bytes);
      }
    }
  }
}
