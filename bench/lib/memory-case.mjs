// The memory case of `pnpm bench core`, in plain JavaScript against the built @q/core, so the peak
// RSS it reports is that of a production process, not of the TypeScript loader (which adds ~35 MiB).
// Prints one JSON line like the other cases.
import { Queue } from '@q/core';

const name = process.argv[2];
const total = Number(process.argv[3]);
const noop = async () => {};
let next = 0;
let left = total;
let t0 = 0;
let resolve;
const done = new Promise((r) => {
  resolve = r;
});
const queue = new Queue(
  () => ({
    produce() {
      if (next === 0) t0 = performance.now();
      return next < total ? next++ : undefined;
    },
  }),
  () => ({
    async consume(m) {
      await noop(m);
      if (--left === 0) resolve();
    },
  }),
  { producers: 1, consumers: 8, capacity: 1024, statsIntervalMs: 0 },
);
const running = queue.start();
await done;
const elapsed = performance.now() - t0;
await queue.stop();
await running;
const peakRssMiB = Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
console.log(JSON.stringify({ name, messagesPerSecond: Math.round((total / elapsed) * 1000), peakRssMiB }));
