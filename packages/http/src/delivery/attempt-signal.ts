/**
 * The least undici's `request` accepts as a `signal`: `aborted`, `reason` and one `abort` listener.
 * An `AbortController` with its EventTarget costs several microseconds per attempt (measured: about 7 µs
 * to create one and add and remove a listener, against a 50 µs round trip of raw undici), and an attempt
 * only ever needs to abort its one request.
 */
export class AttemptSignal {
  aborted = false;
  reason: unknown = undefined;
  #listener: (() => void) | undefined;

  /** undici registers its abort handler here (once per request). */
  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listener = listener;
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.#listener === listener) this.#listener = undefined;
  }

  /** Aborts the request: before its response it fails, after it its body is destroyed. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.();
  }
}
