/**
 * A consumer process for the conformance suite's SIGKILL test: builds the adapter named in argv[2]
 * from the JSON in argv[3] ({ connection, destination }), runs a Queue on the destination and tells
 * the parent each id it handled, waiting for the IPC write before returning (so a settled message
 * was always reported: the parent's count is a superset of what the source forgot).
 */
import { silentLogger } from '@q/core';
import { delay } from '../wait.js';
import type { ConnectAdapter } from './adapter.js';
import { runOn } from './consume.js';

const [name, json] = process.argv.slice(2);
const { connection, destination: config } = JSON.parse(json ?? '{}') as {
  connection: Record<string, unknown>;
  destination: Record<string, unknown>;
};
const { connect } = (await import(`./adapters/${name}.js`)) as { connect: ConnectAdapter };
const adapter = await connect(connection);
const destination = await adapter.reopen(config);
const send = (message: unknown): Promise<void> =>
  new Promise((resolve, reject) =>
    process.send?.(message, (error: Error | null) => (error ? reject(error) : resolve())),
  );

// Ready before the first id, so the parent's listener is attached before ids arrive.
await send('ready');
const running = runOn(
  destination,
  async (message) => {
    // A little work per message, so the kill lands mid-run rather than after a burst.
    await delay(1);
    await send({ id: destination.decode(message).id });
  },
  { name: 'conformance-worker', consumers: 4, logger: silentLogger },
);
process.on('SIGTERM', () => {
  void running
    .stop({ timeoutMs: 5_000 })
    .then(() => running.done)
    .then(() => adapter.close())
    .finally(() => process.exit(0));
});
