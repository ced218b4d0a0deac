/**
 * ConfirmTracker against a model: publishes (ids may repeat, as a caller's ids may, also with
 * different routing keys, and a return names the id, exchange and routing key), acks and nacks
 * of single and `multiple` tags, returns (each before its message's ack, as RabbitMQ sends them),
 * full buffers and drains, in random order, then the channel's close. After every step: each
 * publish is settled at most once, as the model says (an ack after its return is unroutable, a
 * nack rejected, whatever is open at the close unknown, never confirmed), and `outstanding` and
 * `room()` agree with the model. The channel is a stand-in EventEmitter: amqplib itself is tested
 * against RabbitMQ in pusher.test.ts; this is about our bookkeeping.
 */
import { EventEmitter } from 'node:events';
import { ConfirmUnknownError, PublishRejectedError, silentLogger, UnroutableError } from '@q/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClientConfirmChannel, ClientMessage } from '../src/client.js';
import { ConfirmTracker, TrackedPublish } from '../src/confirm-tracker.js';

/** A confirm channel that takes publishes and lets the test send the broker's frames. */
class StandInChannel extends EventEmitter {
  full = false;
  publish(): boolean {
    return !this.full;
  }
}

class Probe extends TrackedPublish {
  readonly outcomes: (Error | 'confirmed')[] = [];
  readonly destination = 'ex/key';
  constructor(
    readonly messageId: string,
    readonly routingKey: string,
  ) {
    super();
  }
  confirmed(): void {
    this.outcomes.push('confirmed');
  }
  failed(error: Error): void {
    this.outcomes.push(error);
  }
}

type Expected = 'confirmed' | 'unroutable' | 'rejected' | 'unknown';

interface Model {
  readonly probe: Probe;
  /** What the tracker must have said, once settled. */
  expected: Expected | undefined;
  returned: boolean;
}

type Step =
  | { readonly op: 'publish'; readonly id: number; readonly key: number }
  | { readonly op: 'ack' | 'nack'; readonly pick: number; readonly multiple: boolean }
  | { readonly op: 'return'; readonly pick: number }
  | { readonly op: 'full' | 'drain' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('publish' as const),
      id: fc.integer({ min: 0, max: 3 }),
      key: fc.integer({ min: 0, max: 1 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constantFrom('ack' as const, 'nack' as const),
      pick: fc.nat(),
      multiple: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('return' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('full' as const, 'drain' as const) }) },
);

const WINDOW = 5;

function kindOf(outcome: Error | 'confirmed' | undefined): Expected | undefined {
  if (outcome === undefined || outcome === 'confirmed') return outcome;
  if (outcome instanceof UnroutableError) return 'unroutable';
  if (outcome instanceof PublishRejectedError) return 'rejected';
  if (outcome instanceof ConfirmUnknownError) return 'unknown';
  throw outcome;
}

describe('ConfirmTracker', () => {
  it('settles every publish once, as acks, nacks, returns and the close say (model)', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 150 }), (steps) => {
        const channel = new StandInChannel();
        const tracker = new ConfirmTracker(channel as unknown as ClientConfirmChannel, {
          window: WINDOW,
          confirmTimeoutMs: 3_600_000,
          nackReason: 'maxlen',
          logger: silentLogger,
        });
        const published: Model[] = [];
        let writable = true;
        const open = (): Model[] => published.filter((m) => m.expected === undefined);
        for (const s of steps) {
          if (s.op === 'publish') {
            const probe = new Probe(`id-${s.id}`, `key-${s.key}`);
            tracker.publish(probe, 'ex', probe.routingKey, Buffer.from('x'), {});
            if (channel.full) writable = false;
            published.push({ probe, expected: undefined, returned: false });
            expect(probe.tag).toBe(published.length);
          } else if (s.op === 'ack' || s.op === 'nack') {
            const candidates = open();
            if (candidates.length === 0) continue;
            const target = candidates[s.pick % candidates.length] as Model;
            const settles = s.multiple ? candidates.filter((m) => m.probe.tag <= target.probe.tag) : [target];
            for (const m of settles)
              m.expected = s.op === 'nack' ? 'rejected' : m.returned ? 'unroutable' : 'confirmed';
            channel.emit(s.op, { deliveryTag: target.probe.tag, multiple: s.multiple });
          } else if (s.op === 'return') {
            const candidates = open().filter((m) => !m.returned);
            if (candidates.length === 0) continue;
            const { messageId, routingKey } = (candidates[s.pick % candidates.length] as Model).probe;
            // The broker returns messages in publish order: the first unreturned one with this id
            // and routing key (one with the same id and another key is a different publish).
            const returned = candidates.find(
              (m) => m.probe.messageId === messageId && m.probe.routingKey === routingKey,
            );
            (returned as Model).returned = true;
            const message = {
              content: Buffer.from('x'),
              fields: { replyCode: 312, replyText: 'NO_ROUTE', exchange: 'ex', routingKey },
              properties: { messageId },
            };
            channel.emit('return', message as unknown as ClientMessage);
          } else if (s.op === 'full') {
            channel.full = true;
          } else {
            channel.full = false;
            writable = true;
            channel.emit('drain');
          }
          check(published, tracker, writable);
        }
        channel.emit('close');
        for (const m of open()) m.expected = 'unknown';
        check(published, tracker, writable);
        expect(tracker.room(0)).toBe('closed');
      }),
      { numRuns: 1000 },
    );
  });
});

function check(published: readonly Model[], tracker: ConfirmTracker, writable: boolean): void {
  let open = 0;
  for (const m of published) {
    expect(m.probe.outcomes.length).toBeLessThanOrEqual(1);
    expect(kindOf(m.probe.outcomes[0])).toBe(m.expected);
    if (m.expected === undefined) open += 1;
  }
  if (tracker.closed) return;
  expect(tracker.outstanding).toBe(open);
  expect(tracker.room(Number.POSITIVE_INFINITY) === 'ready').toBe(writable && open < WINDOW);
}
