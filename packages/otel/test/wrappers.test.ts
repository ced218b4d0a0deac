import { readFileSync } from 'node:fs';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  type ConsumeContext,
  type Consumer,
  fromIterable,
  HandlerTimeoutError,
  InvalidOptionError,
  Queue,
  silentLogger,
} from '@q/core';
import {
  type ConsumerTracingOptions,
  injectHeaders,
  tracedConsumer,
  tracedHandler,
  tracedPusher,
  traceHeaders,
  traceSend,
  VERSION,
} from '@q/otel';
import { beforeEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { idOf, installTracing } from './support/tracing.js';

const exporter = installTracing();
beforeEach(() => exporter.reset());

const ctx: ConsumeContext = { attempt: 1, signal: new AbortController().signal };
interface Msg {
  readonly n: number;
  readonly headers?: Record<string, string>;
}
const options: ConsumerTracingOptions<Msg> = { system: 'test', destination: 'd', headersOf: (m) => m.headers };

/** Headers carrying a fresh producer span's context, and that span's identity. */
function produced(): { headers: Record<string, string>; id: string } {
  const span = trace.getTracer('test').startSpan('send d', { kind: SpanKind.PRODUCER });
  span.end();
  const headers = injectHeaders(trace.setSpan(ROOT_CONTEXT, span), propagation) ?? {};
  return { headers, id: idOf(span.spanContext()) };
}

const consumerSpans = () => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER);

describe('tracedHandler and thenables that are not promises', () => {
  it('waits for a thenable whose then() returns nothing, as the queue itself does', async () => {
    const order: string[] = [];
    const handler = (_: Msg) => ({
      // PromiseLike as some libraries write it: then() calls back later and returns undefined.
      // biome-ignore lint/suspicious/noThenProperty: a thenable is what this test is about.
      then(resolve: (value: undefined) => void) {
        setTimeout(() => {
          order.push('handler done');
          resolve(undefined);
        }, 20);
      },
    });
    const out = tracedHandler(handler as unknown as (m: Msg) => Promise<void>, options)({ n: 1 }, ctx);
    await out;
    order.push('awaited');
    expect(order).toEqual(['handler done', 'awaited']);
    expect(consumerSpans()).toHaveLength(1);
  });
});

describe('tracedHandler and tracedConsumer with the SDK', () => {
  it('pass the outcome on untouched: a sync value, the same thrown object, the same rejection', async () => {
    expect(tracedHandler((m: Msg) => m.n * 2, options)({ n: 21 }, ctx)).toBe(42);
    const thrown = new Error('sync');
    expect(() =>
      tracedHandler((_: Msg) => {
        throw thrown;
      }, options)({ n: 1 }, ctx),
    ).toThrow(thrown);
    const rejection = new TypeError('async');
    await expect(tracedHandler(async (_: Msg) => Promise.reject(rejection), options)({ n: 1 }, ctx)).rejects.toBe(
      rejection,
    );
    // A thrown non-Error is still recorded, as `_OTHER`.
    await expect(tracedHandler(async (_: Msg) => Promise.reject(42), options)({ n: 1 }, ctx)).rejects.toBe(42);
    const [ok, sync, async, other] = consumerSpans();
    expect(ok?.status.code).toBe(SpanStatusCode.UNSET);
    expect(sync?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'sync' });
    expect(async?.attributes['error.type']).toBe('TypeError');
    expect(other?.attributes['error.type']).toBe('_OTHER');
    expect(other?.status).toEqual({ code: SpanStatusCode.ERROR, message: '42' });
  });

  it('childOfProducer: false keeps the ambient parent and still links the producer', () => {
    const p = produced();
    tracedHandler((_: Msg) => {}, { ...options, childOfProducer: false })({ n: 1, headers: p.headers }, ctx);
    const [span] = consumerSpans();
    expect(idOf(span?.links[0]?.context)).toBe(p.id);
    expect(span?.parentSpanContext).toBeUndefined();
  });

  it('a batch span links each distinct producer once, at most maxLinks', async () => {
    const ps = [produced(), produced(), produced(), produced()];
    const messages: Msg[] = [...ps, ps[0]].map((p, n) => ({ n, headers: p?.headers }));
    const consumer = tracedConsumer<Msg>({ consume() {}, async consumeBatch() {} }, { ...options, maxLinks: 3 });
    await consumer.consumeBatch?.(messages, ctx);
    const unlimited = tracedConsumer<Msg>({ consume() {}, consumeBatch() {} }, options);
    await unlimited.consumeBatch?.(messages, ctx);
    const [capped, all] = consumerSpans();
    expect(capped?.links.map((l) => idOf(l.context))).toEqual(ps.slice(0, 3).map((p) => p.id));
    expect(all?.links.map((l) => idOf(l.context))).toEqual(ps.map((p) => p.id));
    expect(all?.attributes['messaging.batch.message_count']).toBe(5);
  });

  it('a timed-out attempt ends its span at the timeout, failed with HandlerTimeoutError', async () => {
    let calls = 0;
    const queue = new Queue<number>(
      fromIterable([1]),
      tracedConsumer(
        () => ({
          async consume() {
            calls++;
            // Ignores its signal: runs on well past the timeout.
            await new Promise((r) => setTimeout(r, 400));
          },
        }),
        { system: 'test' },
      ),
      { timeoutMs: 30, retry: { attempts: 1 }, logger: silentLogger },
    );
    const started = performance.now();
    const done = queue.start();
    await until(() => consumerSpans().length === 1, 5000, 'the attempt span ended');
    const endedAfter = performance.now() - started;
    await done;
    const [span] = consumerSpans();
    expect(calls).toBe(1);
    expect(endedAfter).toBeLessThan(350);
    expect(span?.name).toBe('process');
    expect(span?.attributes['error.type']).toBe(HandlerTimeoutError.name);
    expect(span?.events[0]?.attributes?.['exception.type']).toBe('Q_HANDLER_TIMEOUT');
  });

  it('a factory sharing one consumer gets one wrapper, closed once; onEvent passes through', async () => {
    let closes = 0;
    const events: unknown[] = [];
    let consumed = 0;
    const shared: Consumer<number> = {
      consume() {
        consumed++;
      },
      onEvent(e) {
        events.push(e);
      },
      close() {
        closes++;
      },
    };
    const factory = tracedConsumer(() => shared, { system: 'test' });
    expect(await factory()).toBe(await factory());
    const queue = new Queue<number>(fromIterable([1, 2, 3]), factory, { consumers: 3, logger: silentLogger });
    const done = queue.start();
    await until(() => consumed === 3, 5000, 'consumed');
    await done;
    expect(consumed).toBe(3);
    expect(closes).toBe(1);
    const wrapper = (await factory()) as Consumer<number>;
    await wrapper.onEvent?.('hello');
    expect(events).toEqual(['hello']);
    expect(wrapper.consumeBatch).toBeUndefined();
  });

  it('refuses bad options, naming them', () => {
    const bad = (f: () => unknown, option: string) => {
      try {
        f();
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidOptionError);
        expect((error as InvalidOptionError).option).toBe(option);
        return;
      }
      throw new Error(`no error for ${option}`);
    };
    const consume = { consume() {} };
    bad(() => tracedConsumer(consume, { system: '' }), 'system');
    bad(() => tracedConsumer(consume, { system: 's', destination: '' }), 'destination');
    bad(() => tracedConsumer(consume, { system: 's', maxLinks: -1 }), 'maxLinks');
    bad(() => tracedConsumer(consume, { system: 's', headersOf: 'h' as never }), 'headersOf');
    bad(() => tracedConsumer(consume, { system: 's', childOfProducer: 1 as never }), 'childOfProducer');
    bad(() => tracedConsumer(consume, { system: 's', tracer: {} as never }), 'tracer');
    bad(() => tracedConsumer(consume, { system: 's', propagator: {} as never }), 'propagator');
    bad(() => tracedConsumer(null as never, { system: 's' }), 'consumer');
    bad(() => tracedHandler('x' as never, { system: 's' }), 'handler');
    bad(() => tracedPusher({} as never, { system: 's', destination: 'd' }), 'pusher');
    bad(() => traceSend({ system: 's', destination: '' }), 'destination');
    bad(() => traceSend({ system: 's', destination: 'd', inject: 1 as never }), 'inject');
  });
});

describe('producer side with the SDK', () => {
  it('traceSend makes a PRODUCER span, active during the send, whose context the message carries', async () => {
    const seen: { headers: Record<string, string>; active: string }[] = [];
    const send = traceSend<{ headers: Record<string, string> }>({
      system: 'test',
      destination: 'd',
      inject: (m, headers) => ({ headers: { ...m.headers, ...headers } }),
    });
    await send({ headers: { mine: 'kept' } }, async (m) => {
      seen.push({ headers: m.headers, active: idOf(trace.getActiveSpan()?.spanContext()) });
    });
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('send d');
    expect(span?.kind).toBe(SpanKind.PRODUCER);
    expect(seen[0]?.active).toBe(idOf(span?.spanContext()));
    expect(seen[0]?.headers.mine).toBe('kept');
    expect(seen[0]?.headers.traceparent).toBe(`00-${span?.spanContext().traceId}-${span?.spanContext().spanId}-01`);
  });

  it('a failed send fails its span and rejects as before; traceHeaders reads the active context', async () => {
    const failure = new Error('down');
    const pusher = tracedPusher<string>(
      { name: () => 'p', push: () => Promise.reject(failure), pushAndConfirm: () => Promise.resolve() },
      { system: 'test', destination: 'd' },
    );
    await expect(pusher.push('x')).rejects.toBe(failure);
    await pusher.pushAndConfirm('y');
    const [failed, ok] = exporter.getFinishedSpans();
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(ok?.status.code).toBe(SpanStatusCode.UNSET);
    expect(pusher.name()).toBe('p');

    expect(traceHeaders()()).toBeUndefined();
    const span = trace.getTracer('test').startSpan('outer');
    const headers = context.with(trace.setSpan(context.active(), span), traceHeaders());
    span.end();
    expect(headers?.traceparent).toContain(span.spanContext().spanId);
  });

  it('VERSION is the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
