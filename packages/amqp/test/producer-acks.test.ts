import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClientChannel, ClientMessage } from '../src/client.js';
import { type AckEntry, DeliveryAcks, UNSETTLED } from '../src/delivery-acks.js';

/**
 * The broker's side of one channel, as RabbitMQ keeps it: the delivery tags not yet settled. An ack
 * or nack of a tag it does not hold is the channel error PRECONDITION_FAILED (thrown here).
 */
class BrokerChannel {
  readonly outstanding = new Set<number>();
  acks = 0;

  deliver(tag: number): void {
    this.outstanding.add(tag);
  }

  ack(message: ClientMessage, multiple = false): void {
    const tag = message.fields.deliveryTag;
    if (!this.outstanding.has(tag)) throw new Error(`PRECONDITION_FAILED - unknown delivery tag ${tag}`);
    this.acks++;
    if (!multiple) this.outstanding.delete(tag);
    else for (const t of [...this.outstanding]) if (t <= tag) this.outstanding.delete(t);
  }

  nack(message: ClientMessage): void {
    const tag = message.fields.deliveryTag;
    if (!this.outstanding.has(tag)) throw new Error(`PRECONDITION_FAILED - unknown delivery tag ${tag}`);
    this.outstanding.delete(tag);
  }
}

type Step =
  | { readonly op: 'deliver'; readonly count: number }
  | { readonly op: 'ack'; readonly pick: number }
  | { readonly op: 'nack'; readonly pick: number }
  | { readonly op: 'flush' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('deliver' as const), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('ack' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('nack' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('flush' as const) }),
);

const message = (tag: number): ClientMessage => ({
  content: Buffer.alloc(0),
  fields: { deliveryTag: tag, redelivered: false, exchange: '', routingKey: 'q' },
  properties: {},
});

describe('DeliveryAcks (ack coalescing with multiple)', () => {
  it('model: never acks a delivery a handler holds, never an unknown tag, and acks every acked one', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
        const broker = new BrokerChannel();
        const acks = new DeliveryAcks(broker as unknown as ClientChannel, () => {
          throw new Error('no channel failure in this model');
        });
        const held: AckEntry[] = [];
        let tag = 0;
        for (const s of steps) {
          if (s.op === 'deliver') {
            for (let i = 0; i < s.count; i++) {
              const entry: AckEntry = { message: message(++tag), state: UNSETTLED };
              broker.deliver(tag);
              acks.delivered(entry);
              held.push(entry);
            }
          } else if (s.op === 'flush') {
            acks.flush();
          } else if (held.length > 0) {
            const [entry] = held.splice(s.pick % held.length, 1) as [AckEntry];
            if (s.op === 'ack') acks.ack(entry);
            else {
              entry.state = 2;
              broker.nack(entry.message);
            }
          }
          // Whatever a handler still holds is still unsettled on the broker.
          for (const e of held) expect(broker.outstanding.has(e.message.fields.deliveryTag)).toBe(true);
        }
        acks.flush();
        expect([...broker.outstanding].sort((x, y) => x - y)).toEqual(
          held.map((e) => e.message.fields.deliveryTag).sort((x, y) => x - y),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('a run of acks from the oldest delivery goes out as one basic.ack with multiple', () => {
    const broker = new BrokerChannel();
    const acks = new DeliveryAcks(broker as unknown as ClientChannel, () => {});
    const entries = Array.from({ length: 100 }, (_, i) => {
      const entry: AckEntry = { message: message(i + 1), state: UNSETTLED };
      broker.deliver(i + 1);
      acks.delivered(entry);
      return entry;
    });
    // The 50th is still in a handler: 1-49 go as one multiple ack, 51-100 one by one.
    for (const [i, e] of entries.entries()) if (i !== 49) acks.ack(e);
    acks.flush();
    expect(broker.acks).toBe(1 + 50);
    expect([...broker.outstanding]).toEqual([50]);
    acks.ack(entries[49] as AckEntry);
    acks.flush();
    expect(broker.acks).toBe(52);
    expect(broker.outstanding.size).toBe(0);
  });
});
