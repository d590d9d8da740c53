import { describe, expect, it } from 'vitest';
import { MemoryTier } from '../../../server/store/memory-tier.js';

describe('MemoryTier', () => {
  it('holds at most maxBytes: inserting more drops the least recently used first', () => {
    const tier = new MemoryTier<string>(100, 1000);
    for (let i = 0; i < 10; i++) expect(tier.set(`k${i}`, `v${i}`, 100)).toBe(0);
    expect(tier.bytes).toBe(1000);
    tier.get('k0'); // k0 is now the most recent: k1 is the oldest
    expect(tier.set('big', 'v', 250)).toBe(3); // k1, k2, k3 make room
    expect(tier.bytes).toBeLessThanOrEqual(1000);
    expect(['k0', 'k1', 'k2', 'k3', 'k4', 'big'].map((k) => tier.get(k))).toEqual(['v0', undefined, undefined, undefined, 'v4', 'v']);
    expect([tier.size, tier.bytes]).toEqual([8, 950]); // k0, k4…k9 and big
  });

  it('holds at most maxEntries, whatever their size', () => {
    const tier = new MemoryTier<number>(3, 1_000_000);
    for (let i = 0; i < 5; i++) tier.set(`k${i}`, i, 1);
    expect(tier.size).toBe(3);
    expect(tier.get('k1')).toBeUndefined();
    expect(tier.get('k2')).toBe(2);
  });

  it('keeps its byte count right through replacing, deleting and clearing; an entry over the bound is not kept', () => {
    const tier = new MemoryTier<string>(10, 1000);
    tier.set('a', 'x', 300);
    tier.set('a', 'y', 200); // replaced, not added
    tier.set('b', 'z', 100);
    expect(tier.bytes).toBe(300);
    tier.delete('a');
    expect(tier.bytes).toBe(100);
    expect(tier.set('huge', 'w', 1001)).toBe(0);
    expect(tier.get('huge')).toBeUndefined();
    expect(tier.get('b')).toBe('z'); // nothing dropped for it
    tier.clear();
    expect([tier.size, tier.bytes]).toEqual([0, 0]);
  });
});
