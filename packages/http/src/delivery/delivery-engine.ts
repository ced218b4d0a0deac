import { EventEmitter } from 'node:events';
import { backoffDelay, consoleLogger, type Logger, sleep } from '@q/core';
import { duration, safeLogger, settledWithin } from '@q/core/internal';
import { Agent, type Dispatcher } from 'undici';
import { type AttemptContext, sendAttempt } from './attempt.js';
import type { CircuitState } from './circuit-breaker.js';
import type { DeadLetteredResult } from './dead-letters.js';
import { checkItem } from './delivery-item.js';
import { DeliveryJob } from './delivery-job.js';
import {
  type DeliveryEngineOptions,
  type ResolvedDeliveryOptions,
  resolveDeliveryOptions,
} from './delivery-options.js';
import { Endpoint, parseTarget } from './endpoint.js';
import type { DeliveryEngineEvents } from './engine-events.js';
import { DeadLettersClosedError, DeliveryClosedError } from './errors.js';
import { KeyOrder } from './key-order.js';
import type { StatusOutcome } from './outcome.js';
import { WebhookSigner } from './signing.js';
import type { DeadLetterReason, DeliveryItem, DeliveryResult, EndpointState } from './types.js';

/** Idle endpoints (closed circuit, nothing waiting) are forgotten beyond this many, so per-message URLs do not pile up. */
const MAX_IDLE_ENDPOINTS = 1024;
/** Back-off of a dead letter's write that failed (the item stays unfinished meanwhile). */
const STORE_RETRY_MIN_MS = 100;
const STORE_RETRY_MAX_MS = 5_000;

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
  readonly #dispatcher: Dispatcher;
  readonly #ownAgent: Agent | undefined;
  readonly #ctx: AttemptContext;
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #keys = new KeyOrder();
  readonly #stop = new AbortController();
  readonly #stores = new Set<Promise<void>>();
  #openHead: DeliveryJob | undefined;
  #open = 0;
  #inFlight = 0;
  #finishing = 0;
  #delivered = 0;
  #retried = 0;
  #deadLettered = 0;
  #closing: Promise<void> | undefined;

  /** Validates `options` (throws `InvalidOptionError` naming the option) and creates the engine. */
  constructor(options: DeliveryEngineOptions) {
    super();
    const o = resolveDeliveryOptions(options);
    this.#o = o;
    this.#logger = safeLogger(o.logger ?? consoleLogger);
    this.#ownAgent =
      o.dispatcher === undefined
        ? new Agent({
            connections: o.concurrency,
            headersTimeout: o.timeoutMs,
            bodyTimeout: o.timeoutMs,
            connectTimeout: o.connectTimeoutMs,
            keepAliveTimeout: 4_000,
          })
        : undefined;
    this.#dispatcher = o.dispatcher ?? (this.#ownAgent as Agent);
    this.#ctx = {
      dispatcher: this.#dispatcher,
      timeoutMs: o.timeoutMs,
      excerptBytes: o.excerptBytes,
      signer: new WebhookSigner(o.secrets),
      attempted: (job, verdict) => this.#attempted(job, verdict),
    };
  }

  /**
   * Delivers `item`; resolves once it finished: delivered (a 2xx) or dead-lettered (its dead letter stored
   * durably first). Retries wait in the endpoint's schedule. Rejects with `DeliveryClosedError` only when
   * `close()` came first (nothing was settled), and with `InvalidItemError` for an item that cannot be sent.
   */
  deliver(item: DeliveryItem): Promise<DeliveryResult> {
    if (this.#closing !== undefined) return Promise.reject(new DeliveryClosedError());
    try {
      checkItem(item);
    } catch (err) {
      return Promise.reject(err);
    }
    let resolve!: (result: DeliveryResult) => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<DeliveryResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const job = new DeliveryJob(item, (item.acceptedAt ?? Date.now()) + this.#o.maxAgeMs, resolve, reject);
    this.#link(job);
    if (item.key === undefined || this.#keys.admit(item.key, job)) this.#start(job);
    return promise;
  }

  /** Re-enables an endpoint disabled by a 410 (its circuit closed, its failures forgotten). */
  enable(url: string): void {
    const endpoint = this.#endpoints.get(url);
    if (endpoint === undefined || !endpoint.disabled) return;
    endpoint.disabled = false;
    endpoint.circuit.reset();
    this.#logger.info({ url }, 'http delivery: endpoint enabled');
    this.emit('endpoint', endpoint.state());
  }

  /** The state of every endpoint with work, failures or a disabled flag (idle ones may be forgotten). */
  endpoints(): EndpointState[] {
    return Array.from(this.#endpoints.values(), (e) => e.state());
  }

  /** Counts: attempts in flight, items waiting (for their key, endpoint or retry time), totals since creation. */
  stats(): { inFlight: number; waiting: number; delivered: number; retried: number; deadLettered: number } {
    return {
      inFlight: this.#inFlight,
      waiting: Math.max(0, this.#open - this.#inFlight - this.#finishing),
      delivered: this.#delivered,
      retried: this.#retried,
      deadLettered: this.#deadLettered,
    };
  }

  /**
   * Stops: aborts the attempts in flight, clears every timer, rejects unfinished `deliver()` calls with
   * `DeliveryClosedError` (a dead letter being written is waited for within the deadline), and closes its
   * own Agent. Resolves within `timeoutMs` (default 5000); calling it again returns the same promise.
   */
  close(options?: { timeoutMs?: number }): Promise<void> {
    if (this.#closing === undefined) {
      let timeoutMs: number;
      try {
        timeoutMs = duration('timeoutMs', options?.timeoutMs ?? 5_000);
      } catch (err) {
        return Promise.reject(err);
      }
      this.#closing = this.#shutdown(timeoutMs);
    }
    return this.#closing;
  }

  /** {@link DeliveryEngine.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `job` is its key's head (or has no key): to its endpoint, or to the dead letters. */
  #start(job: DeliveryJob): void {
    const url = job.item.url;
    let endpoint = this.#endpoints.get(url);
    if (endpoint === undefined) {
      const target = parseTarget(url);
      if (target === undefined) {
        this.#deadLetter(job, 'invalid-url', `invalid URL: ${String(url).slice(0, 200)}`);
        return;
      }
      endpoint = new Endpoint(url, target, this.#o.failureThreshold, this.#o.openMs, this.#onCircuit);
      this.#endpoints.set(url, endpoint);
    }
    job.endpoint = endpoint;
    if (endpoint.disabled) this.#deadLetter(job, 'endpoint-disabled', `endpoint disabled (HTTP 410): ${url}`);
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
        this.#deadLetter(job, 'endpoint-disabled', `endpoint disabled (HTTP 410): ${endpoint.url}`);
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
      this.#inFlight++;
      sendAttempt(job, this.#ctx);
    }
  }

  /** An attempt settled. */
  #attempted(job: DeliveryJob, verdict: StatusOutcome): void {
    const endpoint = job.endpoint as Endpoint;
    endpoint.inFlight--;
    this.#inFlight--;
    if (job.state !== 'in-flight') return; // close() rejected it meanwhile
    if (verdict === 'delivered') {
      endpoint.circuit.success();
      endpoint.delivered++;
      this.#delivered++;
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
    const o = this.#o;
    if (job.attempts >= o.maxAttempts) {
      this.#deadLetter(job, 'attempts', job.cause);
      return;
    }
    let delayMs = backoffDelay(o.backoff, job.attempts, o.random);
    const asked = job.retryAfterMs;
    if (asked !== undefined && asked > delayMs) delayMs = Math.min(asked, o.backoff.maxDelayMs);
    // The next attempt would start past the item's age limit: waiting for it would change nothing.
    if (Date.now() + delayMs > job.deadline) {
      this.#deadLetter(job, 'max-age', job.cause);
      return;
    }
    job.state = 'scheduled';
    endpoint.scheduled++;
    this.#retried++;
    job.timer = setTimeout(() => this.#retryDue(job, endpoint), delayMs);
    this.emit('retry', job.item, { attempt: job.attempts, delayMs, cause: job.cause, status: job.status });
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
    const fields = { url: endpoint.url, consecutiveFailures: endpoint.circuit.consecutiveFailures };
    if (state === 'open') this.#logger.warn(fields, 'http delivery: endpoint failing, circuit open');
    else if (state === 'closed') this.#logger.info(fields, 'http delivery: endpoint recovered, circuit closed');
    this.emit('endpoint', endpoint.state());
    if (state === 'half-open') {
      // Items kept waiting by the open circuit still age: drop the expired ones before the probe.
      const now = Date.now();
      for (let n = endpoint.ready; n > 0; n--) {
        const job = endpoint.shift() as DeliveryJob;
        if (now > job.deadline) this.#deadLetter(job, 'max-age', job.cause || 'circuit open until maxAgeMs passed');
        else endpoint.push(job);
      }
      this.#pump(endpoint);
    }
  };

  /** A 410: the endpoint takes nothing more until `enable()`; what waits for it is dead-lettered. */
  #disable(endpoint: Endpoint): void {
    if (endpoint.disabled) return;
    endpoint.disabled = true;
    endpoint.circuit.reset();
    this.#logger.warn({ url: endpoint.url }, 'http delivery: endpoint answered 410 Gone, disabled');
    this.emit('endpoint', endpoint.state());
    for (let job = this.#openHead; job !== undefined; ) {
      const next = job.nextOpen;
      if (job.endpoint === endpoint && job.state === 'scheduled') {
        clearTimeout(job.timer);
        job.timer = undefined;
        endpoint.scheduled--;
        this.#deadLetter(job, 'endpoint-disabled', `endpoint disabled (HTTP 410): ${endpoint.url}`);
      }
      job = next;
    }
  }

  #deadLetter(job: DeliveryJob, reason: DeadLetterReason, cause: string): void {
    job.state = 'dead-lettering';
    this.#finishing++;
    const result: DeadLetteredResult = {
      outcome: 'dead-lettered',
      attempts: job.attempts,
      reason,
      status: job.status,
      cause,
    };
    const store = this.#store(job, result)
      .catch((err: unknown) => this.#error(err, { id: job.item.id }, 'http delivery: a dead-letter listener threw'))
      .finally(() => this.#stores.delete(store));
    this.#stores.add(store);
  }

  /** Writes the dead letter (retrying what a retry may cure), then finishes the job. */
  async #store(job: DeliveryJob, result: DeadLetteredResult): Promise<void> {
    for (let delay = STORE_RETRY_MIN_MS; ; delay = Math.min(delay * 2, STORE_RETRY_MAX_MS)) {
      try {
        await this.#o.deadLetters.add(job.item, result, job.excerpt);
        break;
      } catch (err) {
        if (this.#closing !== undefined || err instanceof DeadLettersClosedError) {
          this.#finishing--;
          if (job.state !== 'done') this.#abandon(job, new DeliveryClosedError('The dead letters are closed'));
          return;
        }
        this.#error(err, { id: job.item.id }, 'http delivery: writing a dead letter failed; retrying');
        await sleep(delay, this.#stop.signal);
      }
    }
    this.#finishing--;
    if (job.state === 'done') return; // close() gave up on it at its deadline
    if (job.endpoint !== undefined) job.endpoint.deadLettered++;
    this.#deadLettered++;
    this.#finish(job, result);
    this.emit('dead-letter', job.item, result);
  }

  /** `job` finished: settles its promise and lets its key's next item go. */
  #finish(job: DeliveryJob, result: DeliveryResult): void {
    job.state = 'done';
    this.#unlink(job);
    job.resolve(result);
    const key = job.item.key;
    if (key !== undefined) {
      const next = this.#keys.release(key, job);
      if (next !== undefined && this.#closing === undefined) this.#start(next);
    }
    const endpoint = job.endpoint;
    if (endpoint?.idle === true && this.#endpoints.size > MAX_IDLE_ENDPOINTS) this.#endpoints.delete(endpoint.url);
  }

  /** Rejects an unfinished `job` (the engine closed). */
  #abandon(job: DeliveryJob, err: Error): void {
    if (job.timer !== undefined) clearTimeout(job.timer);
    job.timer = undefined;
    job.controller?.abort();
    job.state = 'done';
    this.#unlink(job);
    job.reject(err);
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const endpoint of this.#endpoints.values()) endpoint.circuit.stop();
    for (let job = this.#openHead; job !== undefined; ) {
      const next = job.nextOpen;
      if (job.state !== 'dead-lettering') this.#abandon(job, new DeliveryClosedError());
      job = next;
    }
    this.#keys.clear();
    if (this.#stores.size > 0) await settledWithin(Promise.all(this.#stores), deadline - Date.now());
    this.#stop.abort();
    for (let job = this.#openHead; job !== undefined; ) {
      const next = job.nextOpen;
      this.#abandon(job, new DeliveryClosedError());
      job = next;
    }
    const agent = this.#ownAgent;
    if (agent !== undefined && !(await settledWithin(agent.close(), deadline - Date.now())))
      await settledWithin(agent.destroy(), 1_000);
  }

  #error(err: unknown, fields: Record<string, unknown>, message: string): void {
    this.#logger.error({ ...fields, err }, message);
    if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)));
  }

  #link(job: DeliveryJob): void {
    const head = this.#openHead;
    job.nextOpen = head;
    if (head !== undefined) head.prevOpen = job;
    this.#openHead = job;
    this.#open++;
  }

  #unlink(job: DeliveryJob): void {
    const { prevOpen, nextOpen } = job;
    if (prevOpen !== undefined) prevOpen.nextOpen = nextOpen;
    else if (this.#openHead === job) this.#openHead = nextOpen;
    else return; // not linked
    if (nextOpen !== undefined) nextOpen.prevOpen = prevOpen;
    job.prevOpen = undefined;
    job.nextOpen = undefined;
    this.#open--;
  }
}
