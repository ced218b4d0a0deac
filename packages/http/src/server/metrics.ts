import { Counter, Gauge, Registry } from 'prom-client';
import type { Topic } from './topic.js';

/** The names of the server's metrics, all prefixed `q_http_`. */
export const METRIC_PREFIX = 'q_http_';

/**
 * The server's Prometheus metrics, on a {@link Registry} of their own (never prom-client's global
 * one, so two servers in one process, or an application's own metrics, do not collide). Topic
 * figures are read from each topic's deliverer at every scrape, labelled `topic`; HTTP requests are
 * counted as they end.
 */
export class HttpQueueMetrics {
  /** The registry `/metrics` renders. */
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'method' | 'status'>;
  /** One child per route, method and status seen: `labels()` hashes its arguments on every call. */
  readonly #children = new Map<string, Counter.Internal>();

  /**
   * @param topics read at every scrape
   * @param tailCacheBytes the bytes the topics' tail caches hold together, read at every scrape
   */
  constructor(topics: () => readonly Topic[], tailCacheBytes: () => number) {
    const registers = [this.registry];
    const perTopic = (kind: 'counter' | 'gauge', name: string, help: string, read: (t: Topic) => number): void => {
      const collect = function (this: Counter<'topic'> | Gauge<'topic'>): void {
        this.reset();
        for (const topic of topics()) this.labels(topic.name).inc(read(topic));
      };
      if (kind === 'counter')
        new Counter({ name: `${METRIC_PREFIX}${name}_total`, help, labelNames: ['topic'], registers, collect });
      else new Gauge({ name: `${METRIC_PREFIX}${name}`, help, labelNames: ['topic'], registers, collect });
    };
    perTopic('counter', 'accepted', 'Messages stored durably in the topic (answered 201)', (t) => t.accepted);
    perTopic('counter', 'delivered', 'Messages a target answered 2xx', (t) => t.deliverer.stats().delivered);
    perTopic('counter', 'dead_lettered', 'Messages moved to the dead letters', (t) => t.deliverer.stats().deadLettered);
    perTopic('counter', 'retries', 'Failed attempts scheduled for a retry', (t) => t.deliverer.stats().retried);
    perTopic(
      'gauge',
      'backlog_messages',
      'Records stored and not yet read by the deliverer',
      (t) => t.deliverer.stats().backlog,
    );
    perTopic(
      'gauge',
      'unfinished_messages',
      'Records read and not yet delivered or dead-lettered',
      (t) => t.deliverer.stats().unfinished,
    );
    perTopic('gauge', 'dead_letters', 'Dead letters stored', (t) => t.deliverer.deadLetters.count);
    new Gauge({
      name: `${METRIC_PREFIX}tail_cache_bytes`,
      help: 'Bytes of new records kept in memory for the deliverers, all topics together (at most tailCacheBytes)',
      registers,
      collect(this: Gauge) {
        this.set(tailCacheBytes());
      },
    });
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
