// Review L: the group commit's shared promise executor reads the module-level `filling` request.
// `new Promise(fill)` runs an async_hooks `init` hook (APM agents, context libraries) before the
// executor: an append made from there took `filling` over and cleared it, and the outer append's promise
// then got no request (a TypeError) although its record was written.
import { createHook } from 'node:async_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openLog } from '../src/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('review L: an append made while another append creates its promise', () => {
  it('both appends resolve with their own seqs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'q-log-review-l-'));
    dirs.push(dir);
    const log = await openLog({ dir });
    await log.append('warm-up');
    let armed = false;
    let inner: Promise<number> | undefined;
    const hook = createHook({
      init(_id, type) {
        if (!armed || type !== 'PROMISE') return;
        armed = false;
        inner = log.append('inner');
      },
    });
    hook.enable();
    let outer: Promise<number>;
    try {
      armed = true;
      outer = log.append('outer');
    } finally {
      hook.disable();
    }
    const settled = await Promise.allSettled([outer, inner as Promise<number>]);
    const records = await log.read(0, { max: 10 });
    await log.close();
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled']);
    const seqOf = (body: string) => records.find((r) => r.body.toString() === body)?.seq;
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : undefined))).toEqual([
      seqOf('outer'),
      seqOf('inner'),
    ]);
  });
});
