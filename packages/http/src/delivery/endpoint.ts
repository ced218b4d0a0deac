import { CircuitBreaker, type CircuitState } from './circuit-breaker.js';
import type { DeliveryJob } from './delivery-job.js';
import type { EndpointState } from './types.js';

/** Where requests to a URL go: undici's `origin` and the path with its query. */
export interface EndpointTarget {
  readonly origin: string;
  readonly path: string;
}

/** The origin and path of an absolute `http:`/`https:` URL without credentials; `undefined` otherwise. */
export function parseTarget(url: string): EndpointTarget | undefined {
  if (typeof url !== 'string') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '') return undefined;
  // Credentials in a URL would be sent as nothing (undici takes no userinfo); refusing beats a silent 401.
  if (parsed.username !== '' || parsed.password !== '') return undefined;
  return { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
}

/**
 * One target URL: its circuit, its queue of items ready to send (in arrival order; a retry joins the end
 * when its time comes), its counts. The engine decides what to send; this holds the state.
 */
export class Endpoint {
  readonly url: string;
  readonly origin: string;
  readonly path: string;
  readonly circuit: CircuitBreaker;
  /** Disabled by a 410 until `enable()`: every item for it is dead-lettered `endpoint-disabled`. */
  disabled = false;
  /** Attempts in flight. */
  inFlight = 0;
  /** Items waiting for their retry time. */
  scheduled = 0;
  /** Items ready to send. */
  ready = 0;
  delivered = 0;
  failedAttempts = 0;
  deadLettered = 0;
  #head: DeliveryJob | undefined;
  #tail: DeliveryJob | undefined;

  /** `onCircuit` is told of its circuit's changes. */
  constructor(
    url: string,
    target: EndpointTarget,
    threshold: number,
    openMs: number,
    onCircuit: (endpoint: Endpoint, state: CircuitState) => void,
  ) {
    this.url = url;
    this.origin = target.origin;
    this.path = target.path;
    this.circuit = new CircuitBreaker(threshold, openMs, (state) => onCircuit(this, state));
  }

  /** Disables it (a 410) or enables it again; its circuit starts over closed either way. */
  setDisabled(disabled: boolean): void {
    this.disabled = disabled;
    this.circuit.reset();
  }

  /** Adds `job` at the end of the ready queue. */
  push(job: DeliveryJob): void {
    job.state = 'ready';
    job.nextReady = undefined;
    if (this.#tail === undefined) this.#head = job;
    else this.#tail.nextReady = job;
    this.#tail = job;
    this.ready++;
  }

  /** The first ready job, left in the queue. */
  peek(): DeliveryJob | undefined {
    return this.#head;
  }

  /** Takes the first ready job. */
  shift(): DeliveryJob | undefined {
    const job = this.#head;
    if (job === undefined) return undefined;
    this.#head = job.nextReady;
    if (this.#head === undefined) this.#tail = undefined;
    job.nextReady = undefined;
    this.ready--;
    return job;
  }

  /** Takes `job` out of the ready queue (a walk: only withdrawals behind an open circuit use it); false when not in it. */
  remove(job: DeliveryJob): boolean {
    let prev: DeliveryJob | undefined;
    for (let j = this.#head; j !== undefined; prev = j, j = j.nextReady) {
      if (j !== job) continue;
      if (prev === undefined) this.#head = job.nextReady;
      else prev.nextReady = job.nextReady;
      if (this.#tail === job) this.#tail = prev;
      job.nextReady = undefined;
      this.ready--;
      return true;
    }
    return false;
  }

  /** Takes out the ready jobs whose deadline passed (they waited behind an open circuit), in order. */
  dropExpired(now: number, onExpired: (job: DeliveryJob) => void): void {
    for (let n = this.ready; n > 0; n--) {
      const job = this.shift() as DeliveryJob;
      if (now > job.deadline) onExpired(job);
      else this.push(job);
    }
  }

  /**
   * Whether nothing is sent, ready or scheduled here, it is not disabled and its circuit not open (an open
   * one has its timer running). Failures alone do not count: an endpoint that failed and has no work left
   * (per-message URLs of a host that is down) must not be kept for good.
   */
  get idle(): boolean {
    return (
      this.inFlight === 0 && this.ready === 0 && this.scheduled === 0 && !this.disabled && this.circuit.state !== 'open'
    );
  }

  /** A snapshot for stats. */
  state(): EndpointState {
    return {
      url: this.url,
      circuit: this.disabled ? 'disabled' : this.circuit.state,
      inFlight: this.inFlight,
      waiting: this.ready + this.scheduled,
      consecutiveFailures: this.circuit.consecutiveFailures,
      delivered: this.delivered,
      failedAttempts: this.failedAttempts,
      deadLettered: this.deadLettered,
    };
  }
}
