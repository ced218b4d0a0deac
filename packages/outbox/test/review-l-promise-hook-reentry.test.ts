// Review L: LogWriter's shared promise executor reads the module-level `filling` entry. `new Promise(fill)`
// runs user code before the executor whenever an async_hooks `init` hook is enabled (APM agents, context
// libraries). A send made from there (here: an init hook that sends, as a tracer that logs through an outbox
// would) overwrites `filling` and clears it: the outer send's executor then finds no entry, its promise
// rejects with a TypeError, yet the message is stored and forwarded. A send that rejects must not store.
import { createHook } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { Outbox, type SendResult } from '../src/index.js';
import { listBodies, redisSink, silentLogger, tempDir } from './support/fixtures.js';

describe('review L: the shared executor and a send made while a promise is created', () => {
  it('a send whose promise creation runs another send still resolves with its own id', async () => {
    const { sink, redis, key } = redisSink();
    const outbox = new Outbox({ dir: tempDir('review-l-hook'), sink, logger: silentLogger });
    await outbox.ready();
    await outbox.send('warm-up');
    let armed = false;
    let inner: Promise<SendResult> | undefined;
    const hook = createHook({
      init(_id, type) {
        if (!armed || type !== 'PROMISE') return;
        armed = false;
        inner = outbox.send('inner');
      },
    });
    hook.enable();
    let outer: Promise<SendResult>;
    try {
      armed = true;
      outer = outbox.send('outer');
    } finally {
      hook.disable();
    }
    const [o, i] = await Promise.allSettled([outer, inner as Promise<SendResult>]);
    await until(async () => (await listBodies(redis, key)).length >= 3);
    const bodies = await listBodies(redis, key);
    await outbox.close();
    // The outer message was stored and forwarded...
    expect(bodies).toContain('outer');
    expect(i?.status).toBe('fulfilled');
    // ...so its send must resolve with its id, not reject.
    expect(o?.status === 'rejected' ? String(o.reason) : 'fulfilled').toBe('fulfilled');
  });
});
