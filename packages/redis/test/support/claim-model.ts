/**
 * A reference model of the at-least-once scripts' state (claim-9, requeue-2, recover-6), small enough
 * to be obviously right: plain arrays and maps, one consumer slot per consumer id. The property test
 * runs the same operations on it and on Redis and compares the whole state after each one. Staging
 * lists are left out (they are filled by a blocking BLMOVE, which the test does not drive).
 */

/** A message in flight: how often it was delivered, and its body. */
export interface Entry {
  deliveries: number;
  body: string;
}

/** What the model keeps per consumer id. */
export interface ModelConsumer {
  /** Delivery id (the model's own numbering) -> entry. */
  readonly inflight: Map<number, Entry>;
  leaseAlive: boolean;
  registered: boolean;
  /** The last claim: its nonce, first id, and count. */
  record: { nonce: number; first: number; count: number } | undefined;
}

/** One delivery as a claim returns it, with the model's id. */
export interface Delivery {
  id: number;
  deliveries: number;
  body: string;
}

/** The model of one queue. */
export class ClaimModel {
  readonly list: string[] = [];
  readonly retry: Entry[] = [];
  readonly dead: string[] = [];
  readonly consumers = new Map<string, ModelConsumer>();
  /** The last delivery id handed out. */
  #lastId = 0;

  constructor(private readonly maxDeliveries: number) {}

  /** The consumer slot of `id`, made on first use. */
  consumer(id: string): ModelConsumer {
    let c = this.consumers.get(id);
    if (c === undefined) {
      c = { inflight: new Map(), leaseAlive: false, registered: false, record: undefined };
      this.consumers.set(id, c);
    }
    return c;
  }

  push(...bodies: string[]): void {
    this.list.push(...bodies);
  }

  /** The claim script: stale nonces take nothing, a repeated nonce replays, a new one takes afresh. */
  claim(id: string, want: number, nonce: number): Delivery[] {
    const c = this.consumer(id);
    if (c.record !== undefined && nonce < c.record.nonce) return [];
    c.leaseAlive = true;
    c.registered = true;
    if (c.record !== undefined && nonce === c.record.nonce) {
      const out: Delivery[] = [];
      for (let i = c.record.first; i < c.record.first + c.record.count; i++) {
        const e = c.inflight.get(i);
        if (e !== undefined) out.push({ id: i, ...e });
      }
      return out;
    }
    const first = this.#lastId + 1;
    const out: Delivery[] = [];
    const deliver = (previous: number, body: string): void => {
      const deliveries = previous + 1;
      if (this.maxDeliveries > 0 && deliveries > this.maxDeliveries) {
        this.dead.push(body);
        return;
      }
      const d = { id: ++this.#lastId, deliveries, body };
      c.inflight.set(d.id, { deliveries, body });
      out.push(d);
    };
    while (out.length < want && this.retry.length > 0) {
      const e = this.retry.shift() as Entry;
      deliver(e.deliveries, e.body);
    }
    while (out.length < want && this.list.length > 0) deliver(0, this.list.shift() as string);
    c.record = { nonce, first, count: out.length };
    return out;
  }

  ack(id: string, delivery: number): void {
    this.consumer(id).inflight.delete(delivery);
  }

  /** The requeue script: `undo` takes the delivery back (not counted), `count` keeps it counted. */
  requeue(id: string, delivery: number, undo: boolean): void {
    const c = this.consumer(id);
    const e = c.inflight.get(delivery);
    if (e === undefined) return;
    this.retry.push({ deliveries: undo ? Math.max(0, e.deliveries - 1) : e.deliveries, body: e.body });
    c.inflight.delete(delivery);
  }

  /** The lease ran out (its holder may live on). */
  expire(id: string): void {
    this.consumer(id).leaseAlive = false;
  }

  /** The recover script: a no-op while the lease lives, unless forced (close). */
  recover(id: string, force: boolean): number {
    const c = this.consumer(id);
    if (!force && c.leaseAlive) return -1;
    const ids = [...c.inflight.keys()].sort((a, b) => a - b);
    for (const i of ids) this.retry.push(c.inflight.get(i) as Entry);
    c.inflight.clear();
    c.leaseAlive = false;
    // Without force, the consumer stays registered for the grace period (longer than any test run).
    if (force) {
      c.registered = false;
      c.record = undefined;
    }
    return ids.length;
  }
}
