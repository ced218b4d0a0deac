/**
 * `pnpm demo`: 1,000,000 messages from an in-memory source through a Queue, each checked to arrive
 * exactly once and settled back to the source. Prints a progress bar, the throughput, and the
 * zero-loss check; exits non-zero if a message was lost or duplicated.
 *
 * Set DEMO_MESSAGES to change the count.
 */
import { type Outcome, type Producer, Queue } from '@q/core';

const total = Number(process.env.DEMO_MESSAGES ?? 1_000_000);
const batch = 256;

/** An in-memory source: hands out ids in batches and keeps count of what it was told about them. */
class MemorySource implements Producer<number> {
  next = 0;
  acked = 0;
  notAcked = 0;

  produce(): number[] | undefined {
    if (this.next >= total) return undefined;
    const out: number[] = [];
    for (let i = 0; i < batch && this.next < total; i++) out.push(this.next++);
    return out;
  }

  settle(_id: number, outcome: Outcome): void {
    if (outcome.type === 'consumed') this.acked++;
    else this.notAcked++;
  }
}

const source = new MemorySource();
const seen = new Uint8Array(total);
let received = 0;
let duplicates = 0;
let allIn!: () => void;
const finished = new Promise<void>((resolve) => {
  allIn = resolve;
});

const queue = new Queue<number>(
  () => source,
  () => ({
    async consume(id) {
      if (seen[id] === 1) duplicates++;
      seen[id] = 1;
      if (++received === total) allIn();
    },
  }),
  { name: 'quickstart', capacity: 1024 },
);

const tty = process.stderr.isTTY;
let lastDecile = -1;
function progress(): void {
  const share = received / total;
  if (tty) {
    const width = 40;
    const filled = Math.round(share * width);
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(1).padStart(5)}%`,
    );
  } else if (Math.floor(share * 10) > lastDecile) {
    lastDecile = Math.floor(share * 10);
    process.stderr.write(`${lastDecile * 10}% `);
  }
}

const started = performance.now();
const running = queue.start();
const bar = setInterval(progress, 100);
await finished;
const elapsed = performance.now() - started;
clearInterval(bar);
progress();
await queue.stop();
await running;
process.stderr.write('\n');

let missing = 0;
for (let id = 0; id < total; id++) if (seen[id] !== 1) missing++;
const stats = queue.stats();
const rate = Math.round((total / elapsed) * 1000);
console.log(`@q/core quickstart: ${total.toLocaleString('en-US')} messages in ${elapsed.toFixed(0)} ms`);
console.log(`throughput: ${rate.toLocaleString('en-US')} messages/s`);
console.log(
  `produced ${stats.produced}, consumed ${stats.consumed}, settled back to the source ${source.acked}, ` +
    `missing ${missing}, duplicates ${duplicates}`,
);
const ok = missing === 0 && duplicates === 0 && source.acked === total && source.notAcked === 0;
console.log(ok ? 'zero-loss check: OK, every message arrived exactly once' : 'zero-loss check: FAILED');
process.exitCode = ok ? 0 : 1;
