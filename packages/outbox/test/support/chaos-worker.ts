/**
 * An `Outbox` in a process of its own, for the in-process chaos test (which SIGKILLs it): the sink
 * `q-outbox serve` would make for the URL, `senders` concurrent loops sending the message numbers
 * the parent hands over (`{ send: number[] }`) as bodies `<prefix>-<n>`, and each resolved send told
 * back as `{ ok: [n, seq, n, seq, ...] }` every few milliseconds. `{ drain: true }` waits until
 * nothing is left to forward, answers `{ drained: stats }`, closes and exits 0. Its stats come every
 * 200 ms as `{ stats }`.
 * argv: dir sinkUrl mode prefix senders
 */
import { silentLogger } from '@q/core';
import { jsonLogger } from '@q/core/internal';
import { openSink } from '../../src/cli/open-sink.js';
import { parseSinkUrl } from '../../src/cli/sink-url.js';
import type { OutboxStats } from '../../src/index.js';
import { Outbox } from '../../src/index.js';

/** Messages from the parent. */
export type ToWorker = { send: number[] } | { drain: true };
/** Messages to the parent. */
export type FromWorker =
  | { started: number }
  | { ready: string }
  | { ok: number[] }
  | { stats: OutboxStats }
  | { drained: OutboxStats }
  | { fatal: string };

const [dir, sinkUrl, mode, prefix, senders] = process.argv.slice(2) as [
  string,
  string,
  'write-ahead' | 'direct-first',
  string,
  string,
];
const tell = (m: FromWorker): void => void process.send?.(m);
// At once, before opening anything: the parent then has this process in hand even if opening hangs.
tell({ started: process.pid });
// The parent gone (its test ended or failed): nothing to do here any more.
process.on('disconnect', () => process.exit(1));

// The sink's client fails while the broker is down, as it must; the outbox's own errors are shown.
const sink = await openSink(parseSinkUrl(sinkUrl), silentLogger);
const outbox = new Outbox({ dir, sink: sink.pusher, mode, logger: jsonLogger(process.stderr, 'error') });
await outbox.ready();

const queue: number[] = [];
let head = 0;
let wake: (() => void) | undefined;
let acks: number[] = [];
let flushTimer: NodeJS.Timeout | undefined;

const flush = (): void => {
  clearTimeout(flushTimer);
  flushTimer = undefined;
  if (acks.length === 0) return;
  tell({ ok: acks });
  acks = [];
};

async function sender(): Promise<void> {
  for (;;) {
    if (head === queue.length) {
      await new Promise<void>((resolve) => {
        const before = wake;
        wake = () => {
          before?.();
          resolve();
        };
      });
      continue;
    }
    const n = queue[head++] as number;
    if (head > 65_536 && head === queue.length) {
      queue.length = 0;
      head = 0;
    }
    // Keyless: the outbox keys such a message by its id, so a Kafka replay finds its first partition.
    const result = await outbox.send(`${prefix}-${n}`);
    acks.push(n, result.seq);
    if (acks.length >= 2000) flush();
    else flushTimer ??= setTimeout(flush, 5);
  }
}

async function drain(): Promise<void> {
  for (;;) {
    const s = outbox.stats();
    if (s.backlogMessages === 0 && s.directPending === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  flush();
  tell({ drained: outbox.stats() });
  await outbox.close({ timeoutMs: 5000 });
  await sink.close();
  process.exit(0);
}

process.on('message', (m: ToWorker) => {
  if ('send' in m) {
    queue.push(...m.send);
    const w = wake;
    wake = undefined;
    w?.();
  } else void drain();
});

tell({ ready: outbox.id });
// The parent keeps the last of these from each worker: what a killed one had done (direct, spilled).
setInterval(() => tell({ stats: outbox.stats() }), 200).unref();
await Promise.all(Array.from({ length: Number(senders) }, sender)).catch((error: unknown) => {
  tell({ fatal: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
