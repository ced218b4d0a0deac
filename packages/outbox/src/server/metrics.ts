import { Counter, Gauge, Registry } from 'prom-client';
import type { OutboxStats } from '../index.js';

/** The names of the proxy's metrics, all prefixed `q_outbox_`. */
export const METRIC_PREFIX = 'q_outbox_';

/**
 * The proxy's Prometheus metrics, on a {@link Registry} of their own (never prom-client's global
 * one, so two proxies in one process, or an application's own metrics, do not collide). Outbox
 * figures are read from `stats()` at each scrape; HTTP requests are counted as they end.
 *
 * Every series carries the label `outbox` (the outbox's id).
 */
export class ProxyMetrics {
  /** The registry `/metrics` renders. */
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'method' | 'status'>;
  /** One child per route, method and status seen: `labels()` hashes its arguments on every call. */
  readonly #children = new Map<string, Counter.Internal>();

  /** @param stats read at every scrape */
  constructor(outboxId: string, stats: () => OutboxStats) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ outbox: outboxId });
    const total = (name: string, help: string, read: (s: OutboxStats) => number): void => {
      new Counter({
        name: `${METRIC_PREFIX}${name}_total`,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(stats()));
        },
      });
    };
    const gauge = (name: string, help: string, read: (s: OutboxStats) => number): void => {
      new Gauge({
        name: `${METRIC_PREFIX}${name}`,
        help,
        registers,
        collect() {
          this.set(read(stats()));
        },
      });
    };
    total('accepted', 'Messages the outbox took (their send resolved)', (s) => s.accepted);
    total('forwarded', 'Messages the sink confirmed, from the log', (s) => s.forwarded);
    total('direct', "Messages the sink confirmed straight from send ('direct-first')", (s) => s.direct);
    total(
      'spilled',
      "Messages written to the log because the sink failed or was slow ('direct-first')",
      (s) => s.spilled,
    );
    total('dead_lettered', 'Messages the sink refused for good, moved to the dead-letter log', (s) => s.deadLettered);
    total(
      'duplicates_suppressed',
      'Sends answered with an earlier id because their idempotency key was taken',
      (s) => s.duplicatesSuppressed,
    );
    gauge('backlog_messages', 'Messages in the log not yet confirmed by the sink', (s) => s.backlogMessages);
    gauge('backlog_bytes', 'Bytes in the log not yet confirmed by the sink', (s) => s.backlogBytes);
    gauge('oldest_age_seconds', 'Age of the oldest message not yet confirmed by the sink', (s) => s.oldestAgeMs / 1000);
    gauge('sink_up', '1 while the sink confirms writes, 0 while it is down', (s) => (s.sink === 'up' ? 1 : 0));
    this.#requests = new Counter({
      name: `${METRIC_PREFIX}http_requests_total`,
      help: 'HTTP requests answered, by route (the pattern; "unmatched" for unknown ones), method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
  }

  /** Counts one answered request. */
  request(route: string, method: string, status: number): void {
    const id = `${route} ${method} ${status}`;
    let child = this.#children.get(id);
    if (child === undefined) {
      child = this.#requests.labels(route, method, String(status));
      this.#children.set(id, child);
    }
    child.inc();
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
