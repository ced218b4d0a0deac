import { EventEmitter } from 'node:events';
import { consoleLogger, type Logger } from '@q/core';
import { duration, safeLogger } from '@q/core/internal';
import type { Agent } from 'undici';
import { type AttemptContext, sendAttempt } from './attempt.js';
import type { CircuitState } from './circuit-breaker.js';
import { DeadLetterWriter } from './dead-letter-writer.js';
import type { DeadLetteredResult, DeadLetters } from './dead-letters.js';
import { invalidItem } from './delivery-item.js';
import { DeliveryJob } from './delivery-job.js';
import {
  closeAgent,
  type DeliveryEngineOptions,
  defaultAgent,
  type ResolvedDeliveryOptions,
  resolveDeliveryOptions,
} from './delivery-options.js';
import type { Endpoint } from './endpoint.js';
import { Endpoints } from './endpoints.js';
import { EngineCounts, type EngineStats } from './engine-counts.js';
import type { DeliveryEngineEvents } from './engine-events.js';
import { DeliveryClosedError } from './errors.js';
import { KeyOrder } from './key-order.js';
import { OpenJobs } from './open-jobs.js';
import type { StatusOutcome } from './outcome.js';
import { nextRetry } from './retry-after.js';
import { WebhookSigner } from './signing.js';
import type { DeadLetterReason, DeliveryItem, DeliveryResult, EndpointState, Withdrawn } from './types.js';

/**
 * Delivers items by HTTP POST, Standard Webhooks style: signed per attempt, retried with back-off (full
 * jitter, `Retry-After` honoured) until a 2xx, a refusal, `maxAttempts` or `maxAgeMs`; what fails for good
 * goes to the dead letters before `deliver()` resolves. Each endpoint (URL) has its own concurrency, retry
 * schedule (timers, never a blocking wait) and circuit breaker, so a failing endpoint never holds up
 * another; items with a key go one at a time per key, in order.
 */
export class DeliveryEngine extends EventEmitter<DeliveryEngineEvents> implements AsyncDisposable {
  readonly #o: ResolvedDeliveryOptions;
  readonly #logger: Logger;
  readonly #ownAgent: Agent | undefined;
  readonly #ctx: AttemptContext;
  readonly #writer: DeadLetterWriter;
  readonly #endpoints: Endpoints;
  readonly #keys = new KeyOrder();
  readonly #open = new OpenJobs();
  readonly #n = new EngineCounts();
  #closing: Promise<void> | undefined;

  /** Validates `options` (throws `InvalidOptionError` naming the option) and creates the engine. */
  constructor(options: DeliveryEngineOptions) {
    super();
    const o = resolveDeliveryOptions(options);
    this.#o = o;
    this.#logger = safeLogger(o.logger ?? consoleLogger);
    this.#endpoints = new Endpoints(o.failureThreshold, o.openMs, this.#onCircuit);
    this.#ownAgent = o.dispatcher === undefined ? defaultAgent(o) : undefined;
    this.#writer = new DeadLetterWriter(o.deadLetters, (err, item) =>
      this.#error(err, { id: item.id }, 'http delivery: writing a dead letter failed; retrying'),
    );
    this.#ctx = {
      dispatcher: o.dispatcher ?? (this.#ownAgent as Agent),
      timeoutMs: o.timeoutMs,
      excerptBytes: o.excerptBytes,
      signer: new WebhookSigner(o.secrets),
      attempted: (job, verdict) => this.#attempted(job, verdict),
    };
  }

  /**
   * Delivers `item`; resolves once delivered (a 2xx) or dead-lettered (stored durably first). Rejects with
   * `DeliveryClosedError` only when `close()` came first, `InvalidItemError` for an item that can't be sent.
   */
  deliver(item: DeliveryItem): Promise<DeliveryResult> {
    if (this.#closing !== undefined) return Promise.reject(new DeliveryClosedError());
    const invalid = invalidItem(item);
    if (invalid !== undefined) return Promise.reject(invalid);
    const job = new DeliveryJob(item, (item.acceptedAt ?? Date.now()) + this.#o.maxAgeMs);
    this.#open.add(job);
    if (item.key === undefined || this.#keys.admit(item.key, job)) this.#start(job);
    return job.promise;
  }

  /** Whether {@link DeliveryEngine.withdraw} may take `item` now; changes nothing, cheap enough for a scan. */
  withdrawable(item: DeliveryItem): boolean {
    return this.#open.withdrawable(item);
  }

  /**
   * Whether `item` is being sent or about to be (in flight, its dead letter being written, or ready and
   * waiting for room), rather than waiting for time or for its key; changes nothing, cheap enough for a scan.
   */
  sending(item: DeliveryItem): boolean {
    return this.#open.sending(item);
  }

  /**
   * Takes back a keyless `item` that only waits for time (its retry, or its endpoint's open circuit): its
   * timer is cleared, it counts as neither delivered nor dead-lettered, its `deliver()` promise rejects
   * (the caller owns it again). Returns its `attempts` and, as `nextAttemptAt`, its retry time or the end of
   * the open period; `undefined`, changing nothing, when it cannot be withdrawn now.
   */
  withdraw(item: DeliveryItem): Withdrawn | undefined {
    const taken = this.#open.withdraw(item);
    if (taken !== undefined) this.#endpoints.maybeForget(taken.endpoint);
    return taken?.withdrawn;
  }

  /**
   * Takes back keyed `item` when it heads its key and only waits for time (as {@link DeliveryEngine.withdraw}),
   * with every item of its key queued behind it, in key order, when `accept` takes each of them; `undefined`,
   * changing nothing, otherwise. Each comes back with the head's `nextAttemptAt` (none may be sent before
   * it); the key has no work left here, so the caller owns its order until it hands the items over again.
   */
  withdrawKey(
    item: DeliveryItem,
    accept: (item: DeliveryItem) => boolean,
  ):
    | Array<{
        /** The item taken back. */
        item: DeliveryItem;
        /** What its next hand-over needs. */
        withdrawn: Withdrawn;
      }>
    | undefined {
    const taken = this.#open.withdrawChain(item, accept);
    if (taken === undefined) return undefined;
    this.#keys.drop(item.key as string, taken.chain.length - 1);
    this.#endpoints.maybeForget(taken.endpoint);
    return taken.chain;
  }

  /** Where this engine's dead letters go (its `deadLetters` option; the caller's to close). */
  get deadLetters(): DeadLetters {
    return this.#o.deadLetters;
  }

  /** Whether `close()` was called: it delivers nothing more. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Re-enables an endpoint disabled by a 410 (its circuit closed, its failures forgotten). */
  enable(url: string): void {
    const endpoint = this.#endpoints.get(url);
    if (endpoint === undefined || !endpoint.disabled) return;
    endpoint.setDisabled(false);
    this.#logger.info({ url }, 'http delivery: endpoint enabled');
    this.emit('endpoint', endpoint.state());
  }

  /** The state of every endpoint with work, failures or a disabled flag (idle ones may be forgotten). */
  endpoints(): EndpointState[] {
    return Array.from(this.#endpoints.all(), (e) => e.state());
  }

  /** Resolves once no attempt is in flight and no dead letter is being written (the rest waits for time or keys). */
  idle(): Promise<void> {
    return this.#n.busy.none();
  }

  /** Counts: attempts in flight, items waiting (for their key, endpoint or retry time), totals since creation. */
  stats(): EngineStats {
    return this.#n.snapshot(this.#open.size);
  }

  /**
   * Stops: aborts the attempts in flight, clears every timer, rejects unfinished `deliver()` calls with
   * `DeliveryClosedError` (a dead letter being written is waited for within the deadline), closes its own
   * Agent. Resolves within `timeoutMs` (default 5000); a second call returns the same promise.
   * @throws {InvalidOptionError} for an invalid `timeoutMs`.
   */
  close(options?: { timeoutMs?: number }): Promise<void> {
    this.#closing ??= this.#shutdown(duration('timeoutMs', options?.timeoutMs ?? 5_000));
    return this.#closing;
  }

  /** {@link DeliveryEngine.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `job` is its key's head (or has no key): to its endpoint, or to the dead letters. */
  #start(job: DeliveryJob): void {
    const url = job.item.url;
    const endpoint = this.#endpoints.of(url);
    job.endpoint = endpoint;
    if (endpoint === undefined) this.#deadLetter(job, 'invalid-url', `invalid URL: ${String(url).slice(0, 200)}`);
    else if (endpoint.disabled) this.#deadLetter(job, 'endpoint-disabled', disabledCause(url));
    else if (job.item.notBefore !== undefined && job.item.notBefore > Date.now())
      this.#schedule(job, endpoint, job.item.notBefore - Date.now());
    else {
      endpoint.push(job);
      this.#pump(endpoint);
    }
  }

  /** Starts what the endpoint's concurrency and circuit allow; dead-letters what aged or lost its endpoint. */
  #pump(endpoint: Endpoint): void {
    if (this.#closing !== undefined) return;
    if (endpoint.disabled) {
      for (let job = endpoint.shift(); job !== undefined; job = endpoint.shift())
        this.#deadLetter(job, 'endpoint-disabled', disabledCause(endpoint.url));
      return;
    }
    const max = this.#o.concurrency;
    while (endpoint.inFlight < max) {
      const job = endpoint.peek();
      if (job === undefined) return;
      if (Date.now() > job.deadline) {
        endpoint.shift();
        this.#deadLetter(job, 'max-age', job.cause || `not attempted within maxAgeMs (${this.#o.maxAgeMs} ms)`);
        continue;
      }
      if (!endpoint.circuit.tryAcquire()) return;
      endpoint.shift();
      job.probe = endpoint.circuit.state === 'half-open';
      job.state = 'in-flight';
      endpoint.inFlight++;
      this.#n.attemptStarted();
      sendAttempt(job, this.#ctx);
    }
  }

  /** An attempt settled. */
  #attempted(job: DeliveryJob, verdict: StatusOutcome): void {
    const endpoint = job.endpoint as Endpoint;
    endpoint.inFlight--;
    this.#n.attemptEnded();
    if (job.state !== 'in-flight') return; // close() rejected it meanwhile
    if (verdict === 'delivered') {
      endpoint.circuit.success();
      endpoint.delivered++;
      this.#n.delivered++;
      const result = { outcome: 'delivered', attempts: job.attempts, status: job.status as number } as const;
      this.#finish(job, result);
      this.emit('delivered', job.item, result);
    } else if (verdict === 'rejected') {
      // The endpoint answered, and means it: healthy, whatever it thinks of this item.
      endpoint.circuit.success();
      endpoint.failedAttempts++;
      this.#deadLetter(job, 'rejected', job.cause);
    } else if (verdict === 'gone') {
      endpoint.failedAttempts++;
      this.#disable(endpoint);
      this.#deadLetter(job, 'gone', job.cause);
    } else {
      endpoint.failedAttempts++;
      endpoint.circuit.failure(job.probe);
      this.#retryLater(job, endpoint);
    }
    this.#pump(endpoint);
  }

  /** Schedules the next attempt, or dead-letters when attempts or age are used up. */
  #retryLater(job: DeliveryJob, endpoint: Endpoint): void {
    const next = nextRetry(this.#o, job, endpoint.disabled);
    if ('reason' in next) {
      const cause = next.reason === 'endpoint-disabled' ? disabledCause(endpoint.url) : job.cause;
      this.#deadLetter(job, next.reason, cause);
      return;
    }
    this.#n.retried++;
    this.#schedule(job, endpoint, next.delayMs);
    const { attempts: attempt, cause, status } = job;
    this.emit('retry', job.item, { attempt, delayMs: next.delayMs, cause, status });
  }

  /** `job` waits `delayMs` for its next attempt. */
  #schedule(job: DeliveryJob, endpoint: Endpoint, delayMs: number): void {
    job.state = 'scheduled';
    endpoint.scheduled++;
    job.dueAt = Math.ceil(Date.now() + delayMs);
    job.timer = setTimeout(() => this.#retryDue(job, endpoint), delayMs);
  }

  #retryDue(job: DeliveryJob, endpoint: Endpoint): void {
    job.timer = undefined;
    if (job.state !== 'scheduled') return;
    endpoint.scheduled--;
    endpoint.push(job);
    this.#pump(endpoint);
  }

  readonly #onCircuit = (endpoint: Endpoint, state: CircuitState): void => {
    if (this.#closing !== undefined) return;
    logCircuit(this.#logger, endpoint, state);
    this.emit('endpoint', endpoint.state());
    if (state === 'half-open') {
      // Items kept waiting by the open circuit still age: drop the expired ones before the probe.
      endpoint.dropExpired(Date.now(), (job) =>
        this.#deadLetter(job, 'max-age', job.cause || 'circuit open past maxAgeMs'),
      );
      this.#pump(endpoint);
      // Opened by the last items of a URL: nothing is left to probe it, and nothing else would forget it.
      this.#endpoints.maybeForget(endpoint);
    }
  };

  /** A 410: the endpoint takes nothing more until `enable()`; what waits for it is dead-lettered. */
  #disable(endpoint: Endpoint): void {
    if (endpoint.disabled) return;
    endpoint.setDisabled(true);
    this.#logger.warn({ url: endpoint.url }, 'http delivery: endpoint answered 410 Gone, disabled');
    this.emit('endpoint', endpoint.state());
    const cause = disabledCause(endpoint.url);
    this.#open.unscheduleAll(endpoint, (job) => this.#deadLetter(job, 'endpoint-disabled', cause));
  }

  #deadLetter(job: DeliveryJob, reason: DeadLetterReason, cause: string): void {
    job.state = 'dead-lettering';
    this.#n.writeStarted();
    const { attempts, status } = job;
    const result: DeadLetteredResult = { outcome: 'dead-lettered', attempts, reason, status, cause };
    this.#writer
      .write(job.item, result, job.excerpt)
      .then((stored) => this.#stored(job, result, stored))
      .catch((err: unknown) => this.#error(err, { id: job.item.id }, 'http delivery: a dead-letter listener threw'));
  }

  /** The dead letter's write ended: stored (the job finished), or given up (the engine or its dead letters closed). */
  #stored(job: DeliveryJob, result: DeadLetteredResult, stored: boolean): void {
    this.#n.writeEnded();
    if (job.state === 'done') return; // close() gave up on it at its deadline
    if (!stored) {
      // The dead letters closed under a running engine: the item is not finished, but its key moves on.
      this.#open.abandon(job, new DeliveryClosedError('The dead letters are closed'));
      this.#release(job);
      return;
    }
    if (job.endpoint !== undefined) job.endpoint.deadLettered++;
    this.#n.deadLettered++;
    this.#finish(job, result);
    this.emit('dead-letter', job.item, result);
  }

  /** `job` finished: settles its promise and lets its key's next item go. */
  #finish(job: DeliveryJob, result: DeliveryResult): void {
    this.#open.remove(job);
    job.resolve(result);
    this.#release(job);
    if (job.endpoint !== undefined) this.#endpoints.maybeForget(job.endpoint);
  }

  /** Lets the next item of `job`'s key go. */
  #release(job: DeliveryJob): void {
    const key = job.item.key;
    const next = key === undefined ? undefined : this.#keys.release(key, job);
    if (next !== undefined && this.#closing === undefined) this.#start(next);
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const endpoint of this.#endpoints.all()) endpoint.circuit.stop();
    this.#open.abandonAll('dead-lettering');
    this.#keys.clear();
    await this.#writer.stop(deadline - Date.now());
    this.#open.abandonAll();
    if (this.#ownAgent !== undefined) await closeAgent(this.#ownAgent, deadline - Date.now());
  }

  #error(err: unknown, fields: Record<string, unknown>, message: string): void {
    this.#logger.error({ ...fields, err }, message);
    if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)));
  }
}

/** The cause of an `endpoint-disabled` dead letter. */
function disabledCause(url: string): string {
  return `endpoint disabled (HTTP 410): ${url}`;
}

/** Logs a circuit change: opening as a warning, recovery as information. */
function logCircuit(logger: Logger, endpoint: Endpoint, state: CircuitState): void {
  const fields = { url: endpoint.url, consecutiveFailures: endpoint.circuit.consecutiveFailures };
  if (state === 'open') logger.warn(fields, 'http delivery: endpoint failing, circuit open');
  else if (state === 'closed') logger.info(fields, 'http delivery: endpoint recovered, circuit closed');
}
