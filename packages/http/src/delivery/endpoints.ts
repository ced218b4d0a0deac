import type { CircuitState } from './circuit-breaker.js';
import { Endpoint, parseTarget } from './endpoint.js';

/** Idle endpoints (nothing waiting, circuit not open) are forgotten beyond this many, so per-message URLs do not pile up. */
const MAX_IDLE_ENDPOINTS = 1024;

/** The engine's endpoints by URL, created on first use. */
export class Endpoints {
  readonly #byUrl = new Map<string, Endpoint>();
  readonly #threshold: number;
  readonly #openMs: number;
  readonly #onCircuit: (endpoint: Endpoint, state: CircuitState) => void;

  /** Circuit settings of every endpoint, and where their circuit changes go. */
  constructor(threshold: number, openMs: number, onCircuit: (endpoint: Endpoint, state: CircuitState) => void) {
    this.#threshold = threshold;
    this.#openMs = openMs;
    this.#onCircuit = onCircuit;
  }

  /** The endpoint of `url`, created when new; `undefined` when `url` is not an absolute http(s) URL. */
  of(url: string): Endpoint | undefined {
    let endpoint = this.#byUrl.get(url);
    if (endpoint === undefined) {
      const target = parseTarget(url);
      if (target === undefined) return undefined;
      endpoint = new Endpoint(url, target, this.#threshold, this.#openMs, this.#onCircuit);
      this.#byUrl.set(url, endpoint);
    }
    return endpoint;
  }

  /** The endpoint of `url` if it exists. */
  get(url: string): Endpoint | undefined {
    return this.#byUrl.get(url);
  }

  /** Forgets `endpoint` when it is idle and there are many (its counts start over if it comes back). */
  maybeForget(endpoint: Endpoint): void {
    if (this.#byUrl.size > MAX_IDLE_ENDPOINTS && endpoint.idle) this.#byUrl.delete(endpoint.url);
  }

  /** Every endpoint. */
  all(): IterableIterator<Endpoint> {
    return this.#byUrl.values();
  }
}
