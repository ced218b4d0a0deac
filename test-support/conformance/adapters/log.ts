import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Pusher, readDeaths, silentLogger, UnsupportedFeatureError } from '@q/core';
import { LogMessage, LogPusher, logProducerFactory, openLog, type SegmentLog } from '@q/log';
import type { ConformanceAdapter, ConformanceMessage, Destination, DestinationOptions } from '../adapter.js';

/** The embedded @q/log queue: `LogPusher` in, `logProducerFactory` out, a second log for dead letters. */
export async function connect(connection: Record<string, unknown> = {}): Promise<ConformanceAdapter> {
  const root =
    typeof connection.root === 'string' ? connection.root : mkdtempSync(join(tmpdir(), 'q-conformance-log-'));
  const owned = typeof connection.root !== 'string';
  let seq = 0;
  const adapter: ConformanceAdapter = {
    name: 'log',
    features: {
      perKeyOrder: true,
      nackRequeue: false,
      deliveryLimit: false,
      ttl: false,
      maxLength: [],
      mandatory: false,
    },
    // A killed consumer redoes what it held: a read batch, the queue's channel and its handlers (commits are immediate here).
    inFlightBound: 1_024,
    async destination(options: DestinationOptions = {}) {
      refuse(options);
      return open({ dir: join(root, `d${process.pid}-${seq++}`) });
    },
    reopen: async (config) => open(config as { dir: string }),
    async pushUnreachable(message) {
      const log = await openLog({ dir: join(root, `closed-${seq++}`), logger: silentLogger });
      await log.close();
      await new LogPusher({ log }).pushAndConfirm(encode(message));
    },
    async close() {
      if (owned) rmSync(root, { recursive: true, force: true });
    },
  };
  return adapter;
}

/** The log promises no TTL, maximum length or delivery limit: its queue refuses to pretend. */
function refuse(options: DestinationOptions): void {
  if (options.ttlMs !== undefined)
    throw new UnsupportedFeatureError('log', 'ttlMs', 'records live until retention removes them');
  if (options.maxLength !== undefined)
    throw new UnsupportedFeatureError('log', 'maxLength', 'a log keeps every record until retention');
  if (options.deliveryLimit !== undefined)
    throw new UnsupportedFeatureError('log', 'deliveryLimit', 'a cursor does not redeliver one record');
}

const encode = (m: ConformanceMessage) => ({ body: m.id, headers: { key: m.key } });

async function open(config: { dir: string }): Promise<Destination> {
  let log: SegmentLog | undefined;
  let deadLog: SegmentLog | undefined;
  const main = async (): Promise<SegmentLog> => {
    log ??= await openLog({ dir: config.dir, logger: silentLogger });
    return log;
  };
  const dead = async (): Promise<SegmentLog> => {
    deadLog ??= await openLog({ dir: `${config.dir}-dead`, logger: silentLogger });
    return deadLog;
  };
  const release = async (): Promise<void> => {
    await log?.close();
    await deadLog?.close();
    log = undefined;
    deadLog = undefined;
  };
  const name = 'queue';
  await main();
  return {
    name,
    config,
    pusher() {
      const pushing = main().then((l) => new LogPusher({ log: l }));
      return {
        name: () => 'conformance-log',
        push: async (m: ConformanceMessage) => (await pushing).pushAndConfirm(encode(m)),
        pushAndConfirm: async (m: ConformanceMessage) => (await pushing).pushAndConfirm(encode(m)),
        close: async () => (await pushing).close(),
      };
    },
    producerFactory() {
      // One factory per queue, made once: two would be two producers committing one cursor.
      let factory: Promise<ReturnType<typeof logProducerFactory>> | undefined;
      return async () => {
        factory ??= main().then((l) => logProducerFactory({ log: l, cursor: name, commitIntervalMs: 0 }));
        return (await factory)();
      };
    },
    deadLetterPusher() {
      const pushing = dead().then((l) => new LogPusher({ log: l, deadLetterOf: name }));
      const pusher: Pusher<unknown> & { close(): Promise<void> } = {
        name: () => 'conformance-log-dead',
        push: async (m, info) => {
          const record = m as LogMessage;
          await (await pushing).pushAndConfirm({ body: record.body, headers: record.headers }, info);
        },
        close: async () => (await pushing).close(),
      };
      return pusher;
    },
    decode(message) {
      const record = message as LogMessage;
      if (!(record instanceof LogMessage)) throw new Error('not a log record');
      return { id: record.body.toString(), key: record.headers.key ?? '' };
    },
    async deadLetters() {
      const l = await dead();
      const records = await l.read(l.firstSeq, { max: 100_000 });
      return records.map((r) => ({ id: r.body.toString(), deaths: readDeaths(r.headers['q-death']) }));
    },
    release,
    async dispose() {
      await release();
      rmSync(config.dir, { recursive: true, force: true });
      rmSync(`${config.dir}-dead`, { recursive: true, force: true });
    },
  };
}
