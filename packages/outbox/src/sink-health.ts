import type { Reporter } from './events.js';

/**
 * Whether the sink is up, as the last push found it. A change is logged and emitted once (`sink-down`,
 * `sink-up`), however many pushes fail or succeed in a row.
 */
export class SinkHealth {
  readonly #reporter: Reporter;
  readonly #sinkName: string;
  #downSince: number | undefined;

  constructor(reporter: Reporter, sinkName: string) {
    this.#reporter = reporter;
    this.#sinkName = sinkName;
  }

  /** 'down' from a failed push until a confirmed one. */
  get state(): 'up' | 'down' {
    return this.#downSince === undefined ? 'up' : 'down';
  }

  /** A push failed for a reason that says nothing about the message (not a refusal). */
  failed(error: unknown): void {
    if (this.#downSince !== undefined) return;
    this.#downSince = Date.now();
    this.#reporter.logger.warn(
      { err: error, sink: this.#sinkName },
      'outbox: the sink is down; messages wait in the log',
    );
    this.#reporter.emit('sink-down', { error });
  }

  /** A push was confirmed. */
  succeeded(): void {
    if (this.#downSince === undefined) return;
    const downMs = Date.now() - this.#downSince;
    this.#downSince = undefined;
    this.#reporter.logger.info({ sink: this.#sinkName, downMs }, 'outbox: the sink is up again');
    this.#reporter.emit('sink-up', { downMs });
  }
}
