/**
 * Several editors mean several Xencode processes on one data directory. LMDB is multi-process (the lock file holds
 * the reader table and the writer mutex); these tests run real separate Node processes on the same environment
 * while this process keeps it open too.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AnswerCache } from '../../../server/store/answer-cache.js';
import { openLmdbStore, type LmdbStore } from '../../../server/store/lmdb-store.js';
import { answer, cleanupTempDirs, removeTranspiled, runChild, tempDir } from './helpers.js';

const opened: LmdbStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  cleanupTempDirs();
});
afterAll(removeTranspiled);

async function openHere(dataDir: string): Promise<{ store: LmdbStore; cache: AnswerCache }> {
  const { store, problem } = await openLmdbStore({ dataDir, probe: false });
  expect(problem).toBeUndefined();
  opened.push(store!);
  return { store: store!, cache: new AnswerCache({ maxEntries: 10_000, store }) };
}

describe('two processes, one data directory', () => {
  it('each reads what the other wrote, while both have the environment open', async () => {
    const dataDir = tempDir();
    const { store, cache } = await openHere(dataDir);
    cache.set('from-parent', answer('written by the parent'));
    await store.settled();

    const child = await runChild(`
      const { store, problem } = await openLmdbStore({ dataDir: ${JSON.stringify(dataDir)} }); // probe on: runs beside our open env
      const cache = new AnswerCache({ maxEntries: 1000, store });
      const seen = cache.get('from-parent');
      for (let i = 0; i < 50; i++) cache.set('from-child-' + i, answer('child answer ' + i));
      await cache.close(); await store.close();
      report({ problem, tier: seen?.tier, text: seen?.answer.text });`);
    expect(child.result).toEqual({ tier: 'disk', text: 'written by the parent' });

    await new Promise((resolve) => setImmediate(resolve)); // lmdb-js renews its read snapshot on a new turn
    expect(cache.get('from-child-7')).toMatchObject({ tier: 'disk', answer: { text: 'child answer 7' } });
    expect(store.count('answers')).toBe(51);
    await cache.close();
  });

  it('concurrent writers in three processes lose nothing', async () => {
    const dataDir = tempDir();
    const { store, cache } = await openHere(dataDir);
    const writer = (name: string) =>
      runChild(`
        const { store, problem } = await openLmdbStore({ dataDir: ${JSON.stringify(dataDir)}, probe: false });
        const cache = new AnswerCache({ maxEntries: 10000, store });
        for (let i = 0; i < 300; i++) { cache.set('${name}-' + i, answer('${name} ' + i)); if (i % 25 === 0) await new Promise((r) => setImmediate(r)); }
        await cache.close(); await store.close();
        report({ problem: problem ?? null, failure: store.failure ?? null });`);
    const children = Promise.all([writer('a'), writer('b')]);
    for (let i = 0; i < 300; i++) {
      cache.set(`parent-${i}`, answer(`parent ${i}`));
      if (i % 25 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const results = await children;
    for (const child of results) expect(child.result).toEqual({ problem: null, failure: null });
    await store.settled();
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.count('answers')).toBe(900);
    const reader = new AnswerCache({ maxEntries: 10_000, store });
    for (const key of ['a-0', 'a-299', 'b-150', 'parent-42']) expect(reader.get(key)?.tier).toBe('disk');
    expect(store.failure).toBeUndefined();
    await reader.close();
    await cache.close();
  });
});
