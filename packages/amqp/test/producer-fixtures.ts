import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';

/** A queue name no other test uses. */
export function uniqueQueue(prefix = 'producer'): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** A raw amqplib connection for arranging and checking (declares, fills, reads dead letters). */
export interface Admin {
  readonly channel: amqp.Channel;
  /** Publishes `count` persistent messages with bodies `body(i)`, confirmed, in windows of 1,024. */
  fill(
    queue: string,
    count: number,
    body?: (i: number) => string,
    options?: (i: number) => amqp.Options.Publish,
  ): Promise<string[]>;
  /** Ready messages in `queue`. */
  ready(queue: string): Promise<number>;
  /** Takes every message in `queue` (basic.get until empty). */
  drain(queue: string): Promise<amqp.GetMessage[]>;
  close(): Promise<void>;
}

export async function admin(url: string): Promise<Admin> {
  const connection = await amqp.connect(url);
  const channel = await connection.createConfirmChannel();
  return {
    channel,
    async fill(queue, count, body = (i) => `m-${i}`, options = () => ({})) {
      const sent: string[] = [];
      for (let i = 0; i < count; i++) {
        const text = body(i);
        sent.push(text);
        if (!channel.sendToQueue(queue, Buffer.from(text), { persistent: true, ...options(i) })) {
          await new Promise((resolve) => channel.once('drain', resolve));
        }
        if (i % 1024 === 1023) await channel.waitForConfirms();
      }
      await channel.waitForConfirms();
      return sent;
    },
    async ready(queue) {
      return (await channel.checkQueue(queue)).messageCount;
    },
    async drain(queue) {
      const got: amqp.GetMessage[] = [];
      for (
        let m = await channel.get(queue, { noAck: true });
        m !== false;
        m = await channel.get(queue, { noAck: true })
      ) {
        got.push(m);
        if (got.length > 1_000_000) throw new Error('drain: runaway');
      }
      return got;
    },
    async close() {
      await connection.close().catch(() => {});
    },
  };
}

/** Counts how often each body was handled. */
export class Tally {
  readonly counts = new Map<string, number>();
  total = 0;

  add(body: string): void {
    this.counts.set(body, (this.counts.get(body) ?? 0) + 1);
    this.total++;
  }

  /** Bodies of `sent` never handled. */
  missing(sent: readonly string[]): string[] {
    return sent.filter((b) => !this.counts.has(b));
  }

  /** Extra handlings beyond one per distinct body. */
  get duplicates(): number {
    return this.total - this.counts.size;
  }
}
