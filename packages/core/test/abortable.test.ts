import { abortable } from '@q/core/internal';
import { describe, expect, it } from 'vitest';

describe('abortable', () => {
  it('settles like the promise until the signal aborts, then as onAbort says', async () => {
    expect(await abortable(Promise.resolve(1), new AbortController().signal, () => 0)).toBe(1);
    await expect(abortable(Promise.reject(new Error('x')), new AbortController().signal, () => 0)).rejects.toThrow('x');
    const c = new AbortController();
    const pending = abortable(new Promise<number>(() => {}), c.signal, () => 'aborted');
    c.abort();
    expect(await pending).toBe('aborted');
    await expect(
      abortable(new Promise(() => {}), AbortSignal.abort(), () => {
        throw new Error('gave up');
      }),
    ).rejects.toThrow('gave up');
  });
});
