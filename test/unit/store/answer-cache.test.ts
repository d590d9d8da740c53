import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AnswerCache, KEY_SCHEMA, MEMORY_TIER_BYTES } from '../../../server/store/answer-cache.js';
import { ENV_FILE, openLmdbStore, type LmdbStore } from '../../../server/store/lmdb-store.js';
import { answer, cleanupTempDirs, tempDir } from './helpers.js';

const open: LmdbStore[] = [];
async function openStore(dataDir: string): Promise<LmdbStore> {
  const { store, problem } = await openLmdbStore({ dataDir, probe: false });
  expect(problem).toBeUndefined();
  open.push(store!);
  return store!;
}

afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  cleanupTempDirs();
});

describe('AnswerCache, memory tier', () => {
  it('round-trips an answer and counts hits and misses', () => {
    const cache = new AnswerCache({ maxEntries: 10 });
    expect(cache.get('k')).toBeUndefined();
    cache.set('k', answer('return a + b;'));
    expect(cache.get('k')).toEqual({ answer: answer('return a + b;'), tier: 'memory' });
    const stats = cache.stats();
    expect(stats).toMatchObject({ memoryHits: 1, diskHits: 0, misses: 1, entries: 1, diskEnabled: false });
    expect(stats.hitLatencyUs.p50).toBeGreaterThan(0);
  });

  it('evicts the least recently used entry, and get() refreshes recency', () => {
    const cache = new AnswerCache({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c']) cache.set(key, answer(key));
    cache.get('a'); // a is now the most recent: b is the oldest
    cache.set('d', answer('d'));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.answer.text).toBe('a');
    cache.set('e', answer('e')); // c is the oldest now
    expect(cache.get('c')).toBeUndefined();
    expect(['a', 'd', 'e'].map((k) => cache.get(k)?.answer.text)).toEqual(['a', 'd', 'e']);
    expect(cache.stats()).toMatchObject({ evictions: 2, entries: 3 });
  });

  it('bounds the memory tier by bytes: a long session keeps only its recent answers in memory', () => {
    const cache = new AnswerCache({ maxEntries: 50_000, memoryBytes: 64 * 1024 });
    const text = 'const value = compute(input, 42);\n'.repeat(4); // 136 characters, a typical completion
    for (let i = 0; i < 1000; i++) cache.set(`key-${i}`, answer(`${i} ${text}`));
    const stats = cache.stats();
    expect(stats.memoryBytes).toBeLessThanOrEqual(64 * 1024);
    expect(stats.entries).toBeLessThan(200); // some 600 bytes each, estimated on the safe side
    expect(stats.evictions).toBe(1000 - stats.entries);
    expect(cache.get('key-999')?.tier).toBe('memory');
    expect(cache.get('key-0')).toBeUndefined();
  });

  it('by default keeps at most MEMORY_TIER_BYTES in memory', () => {
    const cache = new AnswerCache({ maxEntries: 50_000 });
    for (let i = 0; i < 20_000; i++) cache.set(`key-${i}`, answer(`${i} ${'x'.repeat(200)}`));
    expect(cache.stats().memoryBytes).toBeLessThanOrEqual(MEMORY_TIER_BYTES);
    expect(cache.stats().entries).toBeLessThan(20_000);
  });

  it('expires entries after the TTL (injected clock)', () => {
    let now = 1_000;
    const cache = new AnswerCache({ maxEntries: 10, ttlMs: 500, now: () => now });
    cache.set('k', answer('x'));
    now = 1_499;
    expect(cache.get('k')?.tier).toBe('memory');
    now = 1_500;
    expect(cache.get('k')).toBeUndefined();
    expect(cache.stats().entries).toBe(0);
  });

  it('maxEntries 0 turns caching off', async () => {
    const store = await openStore(tempDir());
    const cache = new AnswerCache({ maxEntries: 0, store });
    cache.set('k', answer('x'));
    expect(cache.get('k')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 0, diskEnabled: false });
  });

  it('lets the engine count typed-ahead hits and decide after a lookup', () => {
    const cache = new AnswerCache({ maxEntries: 10 });
    expect(cache.get('k', { record: false })).toBeUndefined();
    cache.recordTypedAhead(3);
    cache.recordMiss();
    cache.recordHit('disk', 40);
    expect(cache.stats()).toMatchObject({ typedAheadHits: 1, misses: 1, diskHits: 1, memoryHits: 0 });
  });
});

describe('AnswerCache on LMDB', () => {
  it('persists across close and reopen: a new cache on the same dir hits from disk, then from memory', async () => {
    const dir = tempDir();
    const first = new AnswerCache({ maxEntries: 100, store: await openStore(dir) });
    first.set('hash-1', answer('console.log(x);'));
    await first.close();
    await open.pop()!.close();

    const second = new AnswerCache({ maxEntries: 100, store: await openStore(dir) });
    expect(second.get('hash-1')).toEqual({ answer: answer('console.log(x);'), tier: 'disk' });
    expect(second.get('hash-1')?.tier).toBe('memory'); // promoted
    expect(second.stats()).toMatchObject({ diskHits: 1, memoryHits: 1, diskEnabled: true, diskEntries: 1 });
    await second.close();
  });

  it('attaches the disk tier after construction (memory-only until the store is open)', async () => {
    const dir = tempDir();
    const writer = new AnswerCache({ maxEntries: 10, store: await openStore(dir) });
    writer.set('k', answer('from disk'));
    await writer.close();
    const cache = new AnswerCache({ maxEntries: 10 });
    expect(cache.get('k')).toBeUndefined();
    cache.attachStore(open[0]!);
    expect(cache.get('k')?.tier).toBe('disk');
    expect(cache.stats().diskEnabled).toBe(true);
  });

  it('expires disk entries by the TTL and deletes them', async () => {
    const dir = tempDir();
    let now = 10_000;
    const store = await openStore(dir);
    const writer = new AnswerCache({ maxEntries: 10, ttlMs: 1_000, store, now: () => now });
    writer.set('k', answer('old'));
    await writer.close();
    now = 11_000;
    const reader = new AnswerCache({ maxEntries: 10, ttlMs: 1_000, store, now: () => now });
    expect(reader.get('k')).toBeUndefined();
    await store.settled();
    expect(store.get('answers', KEY_SCHEMA + 'k')).toBeUndefined();
    await reader.close();
  });

  it('a schema version change makes old entries miss, and they are purged in the background', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    // What an older (or newer) Xencode wrote under another key schema, for the very same hash: v1 is the schema
    // before checksums, whose records must not be served unverified.
    expect(KEY_SCHEMA).toBe('v2:');
    store.put('answers', 'v1:hash-1', { s: Date.now(), a: answer('stale') });
    store.put('answers-age', [Date.now(), 'v1:hash-1'], true);
    store.put('answers', 'v3:hash-1', { s: Date.now(), a: answer('future'), c: 'x' });
    await store.settled();
    const cache = new AnswerCache({ maxEntries: 10, store });
    expect(cache.get('hash-1')).toBeUndefined();
    cache.set('hash-1', answer('current'));
    await expect.poll(() => store.get('answers', 'v1:hash-1'), { timeout: 5_000 }).toBeUndefined();
    await expect.poll(() => store.get('answers', 'v3:hash-1'), { timeout: 5_000 }).toBeUndefined();
    expect(store.get('answers', `${KEY_SCHEMA}hash-1`)).toMatchObject({ a: { text: 'current' } });
    await cache.close();
  });

  it('clear() empties both tiers', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    const cache = new AnswerCache({ maxEntries: 10, store });
    cache.set('a', answer('a'));
    cache.set('b', answer('b'));
    await store.settled();
    await cache.clear();
    expect(cache.get('a')).toBeUndefined();
    expect(store.get('answers', `${KEY_SCHEMA}b`)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 0, diskEntries: 0 });
    await cache.close();
  });

  it('answers from disk what the memory tier let go (the disk tier keeps maxEntries)', async () => {
    const store = await openStore(tempDir());
    const cache = new AnswerCache({ maxEntries: 1000, memoryBytes: 8 * 1024, store });
    for (let i = 0; i < 100; i++) cache.set(`key-${i}`, answer(`answer ${i}`));
    await store.settled();
    expect(cache.stats().entries).toBeLessThan(100);
    expect(cache.get('key-0')).toEqual({ answer: answer('answer 0'), tier: 'disk' });
    expect(cache.get('key-0')?.tier).toBe('memory'); // promoted again
    await cache.close();
  });

  it('keeps the disk tier within maxEntries by removing the oldest entries', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    let now = 1_000_000;
    const cache = new AnswerCache({ maxEntries: 50, store, now: () => now++ });
    for (let i = 0; i < 200; i++) cache.set(`k${i}`, answer(`answer ${i}`));
    await store.settled(); // count() sees committed entries only
    await expect.poll(() => store.count('answers'), { timeout: 10_000, interval: 100 }).toBeLessThanOrEqual(50);
    // The newest survive on disk; the oldest are gone.
    expect(store.get('answers', `${KEY_SCHEMA}k199`)).toBeDefined();
    expect(store.get('answers', `${KEY_SCHEMA}k0`)).toBeUndefined();
    expect(cache.stats().diskEvictions).toBeGreaterThanOrEqual(150);
    // The memory tier holds the newest 50 too.
    expect(cache.stats().entries).toBe(50);
    await cache.close();
  });

  it('overwriting a key keeps its newest answer through trimming', async () => {
    const store = await openStore(tempDir());
    let now = 5_000;
    const cache = new AnswerCache({ maxEntries: 20, store, now: () => now++ });
    cache.set('hot', answer('v1'));
    for (let i = 0; i < 30; i++) cache.set(`k${i}`, answer(String(i)));
    cache.set('hot', answer('v2')); // newest write of an old key
    for (let i = 30; i < 45; i++) cache.set(`k${i}`, answer(String(i)));
    await store.settled();
    await expect.poll(() => store.count('answers'), { timeout: 10_000, interval: 100 }).toBeLessThanOrEqual(20);
    expect(store.get('answers', `${KEY_SCHEMA}hot`)).toMatchObject({ a: { text: 'v2' } });
    await cache.close();
  });

  it('cleans up the age index when the same keys are stored again and again', async () => {
    const store = await openStore(tempDir());
    let now = 1;
    const cache = new AnswerCache({ maxEntries: 100, store, now: () => now++ });
    for (let round = 0; round < 20; round++) for (let i = 0; i < 50; i++) cache.set(`k${i}`, answer(`${round}`));
    await store.settled();
    expect(store.count('answers')).toBe(50);
    // 1,000 index entries for 50 answers: trimming removes the stale ones, keeps every live answer.
    await expect.poll(() => store.count('answers-age'), { timeout: 10_000, interval: 100 }).toBeLessThanOrEqual(50 + 64);
    expect(store.count('answers')).toBe(50);
    expect(store.get('answers', `${KEY_SCHEMA}k0`)).toMatchObject({ a: { text: '19' } });
    await cache.close();
  });
});

describe('AnswerCache on a damaged disk', () => {
  /** Writes one answer through the cache, closes, lets `damage` change the file's bytes, reopens. */
  async function damagedEntry(key: string, text: string, damage: (bytes: Buffer) => void): Promise<{ store: LmdbStore; cache: AnswerCache }> {
    const dir = tempDir();
    const writer = new AnswerCache({ maxEntries: 100, store: await openStore(dir) });
    writer.set(key, answer(text));
    await writer.close();
    await open.pop()!.close();
    const file = join(dir, ENV_FILE);
    const bytes = readFileSync(file);
    damage(bytes);
    writeFileSync(file, bytes);
    const store = await openStore(dir);
    return { store, cache: new AnswerCache({ maxEntries: 100, store }) };
  }

  it('an answer whose text changed on disk is not served, is removed and is counted', async () => {
    const text = 'console.log(greeting);';
    const { store, cache } = await damagedEntry('hash-1', text, (bytes) => {
      const at = bytes.indexOf(text); // stored as plain UTF-8: one letter changed still decodes
      expect(at).toBeGreaterThan(0);
      bytes.write('G', at + text.indexOf('greeting'));
    });
    expect(store.get('answers', `${KEY_SCHEMA}hash-1`)).toMatchObject({ a: { text: 'console.log(Greeting);' } });
    expect(cache.get('hash-1')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ corruptDrops: 1, diskHits: 0, misses: 1 });
    await store.settled();
    expect(store.get('answers', `${KEY_SCHEMA}hash-1`)).toBeUndefined();
    expect(store.count('answers-age')).toBe(0);
    await cache.close();
  });

  it('an answer whose key changed on disk is not served under the other key', async () => {
    const { store, cache } = await damagedEntry('hash-1', 'return a + b;', (bytes) => {
      for (let at = bytes.indexOf(`${KEY_SCHEMA}hash-1`); at >= 0; at = bytes.indexOf(`${KEY_SCHEMA}hash-1`, at + 1)) bytes.write('2', at + KEY_SCHEMA.length + 5);
    });
    expect(store.get('answers', `${KEY_SCHEMA}hash-2`)).toMatchObject({ a: { text: 'return a + b;' } });
    expect(cache.get('hash-2')).toBeUndefined();
    expect(cache.stats().corruptDrops).toBe(1);
    await cache.close();
  });

  it('a record whose structure changed (a string length byte) is not served and is counted', async () => {
    const text = 'const total = items.length;';
    const { cache } = await damagedEntry('hash-1', text, (bytes) => {
      const at = bytes.indexOf(text);
      expect(bytes[at - 1]).toBe(0xa0 + text.length); // msgpack fixstr header
      bytes[at - 1]! += 3;
    });
    expect(cache.get('hash-1')).toBeUndefined();
    expect(cache.stats().corruptDrops).toBe(1);
    await cache.close();
  });

  it('intact entries still verify after a reopen', async () => {
    const { cache } = await damagedEntry('hash-1', 'fine', () => {});
    expect(cache.get('hash-1')).toEqual({ answer: answer('fine'), tier: 'disk' });
    expect(cache.stats().corruptDrops).toBe(0);
    await cache.close();
  });
});
