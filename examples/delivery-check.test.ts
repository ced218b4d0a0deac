import { describe, expect, it } from 'vitest';
import { DeliveryCheck } from './delivery-check.js';

describe('DeliveryCheck', () => {
  it('counts distinct ids, duplicates and missing apart: redeliveries never make up for a missing id', async () => {
    const check = new DeliveryCheck(5);
    for (const id of [0, 1, 1, 1, 2, 2]) check.arrived(id);
    // Six deliveries, more than the total: a count of deliveries would have called this complete.
    expect(check.deliveries).toBe(6);
    expect(check.distinct).toBe(3);
    expect(check.duplicates).toBe(3);
    expect(check.missing).toBe(2);
    expect(check.missingIds()).toEqual([3, 4]);
    expect(check.summary()).toBe('distinct 3 of 5, missing 2 (first: 3, 4), duplicates 3');
    expect(await check.allSeen(20)).toBe(false);
  });

  it('resolves allSeen once the last id arrives, and counts ids outside the run as unexpected', async () => {
    const check = new DeliveryCheck(3);
    const seen = check.allSeen(30_000);
    check.arrived(7);
    check.arrived(-1);
    for (const id of [2, 0, 1]) check.arrived(id);
    expect(await seen).toBe(true);
    expect(check.unexpected).toBe(2);
    expect(check.summary()).toBe('distinct 3 of 3, missing 0, duplicates 0, unexpected 2');
  });
});
