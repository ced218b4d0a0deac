import { describe, expect, it } from 'vitest';
import { keyOrderKey, partitionOrderKey } from '../src/order-key.js';

describe('order keys', () => {
  it('are small non-negative integers, equal for equal key bytes within a partition', () => {
    const a = keyOrderKey(3, Buffer.from('account-17'));
    expect(keyOrderKey(3, Buffer.from('account-17'))).toBe(a);
    expect(Number.isInteger(a) && a >= 0 && a < 2 ** 30).toBe(true);
    expect(keyOrderKey(4, Buffer.from('account-17'))).not.toBe(a);
    expect(partitionOrderKey(7)).toBe(7);
  });

  it('rarely collide: 100,000 distinct keys of one partition give almost as many order keys', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 100_000; i++) seen.add(keyOrderKey(0, Buffer.from(`user-${i}`)));
    // A 30-bit hash: the birthday bound expects about 5 collisions among 100,000 keys.
    expect(seen.size).toBeGreaterThan(100_000 - 50);
  });
});
