import * as nodeCrypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { LmdbStore } from './lmdb-store.js';
import { MemoryTier } from './memory-tier.js';

export interface CachedAnswer {
  text: string;
  model: string;
  method: string;
  rule: string;
  agreeing: string[];
  createdAt: number;
}

export interface CacheStats {
  memoryHits: number;
  diskHits: number;
  typedAheadHits: number;
  misses: number;
  /** Memory-tier LRU evictions. */
  evictions: number;
  /** Entries in the memory tier. */
  entries: number;
  /** Estimated bytes of the memory tier (at most AnswerCacheOptions.memoryBytes). */
  memoryBytes: number;
  diskEnabled: boolean;
  /** Over the last 1,024 hits of all kinds (memory, disk, typed-ahead), in microseconds. */
  hitLatencyUs: { p50: number; p99: number };
  /** Entries on disk (all processes; committed ones), undefined when the disk tier is off. */
  diskEntries?: number;
  /** Disk entries removed to stay within maxEntries. */
  diskEvictions: number;
  /** Disk entries dropped as damaged: checksum mismatch, not a record, or bytes that do not decode. */
  corruptDrops: number;
}

export interface AnswerCacheOptions {
  /** Bound of each tier; 0 turns caching off. */
  maxEntries: number;
  /** Bound of the memory tier in estimated bytes (default MEMORY_TIER_BYTES); the disk tier keeps maxEntries. */
  memoryBytes?: number;
  ttlMs?: number;
  store?: LmdbStore;
  /** Told once when the disk tier turns itself off (disk full, damaged file); memory keeps working. */
  onProblem?: (message: string) => void;
  now?: () => number;
}

/**
 * Every key on disk starts with this. Bump it when the meaning of a key or of a stored answer changes: old entries
 * then become unreachable (and are purged in the background) instead of being read as current.
 * v2: records carry a checksum. v1 records (none) are not read unverified: a damaged one could be served for the
 * rest of its TTL, and a cold cache only costs model calls.
 */
export const KEY_SCHEMA = 'v2:';
export const DEFAULT_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** The memory tier's default bound: some 6,000 completions (see memory-tier.ts). */
export const MEMORY_TIER_BYTES = 4 * 1024 * 1024;

/**
 * What the answers db holds: the answer, when this cache stored it (TTL and age order use the cache's clock), and a
 * checksum of both and of the key, verified on every read: flipped bytes in a page must not become ghost text.
 */
interface DiskRecord {
  s: number;
  a: CachedAnswer;
  c: string;
}
interface MemoryEntry {
  storedAt: number;
  answer: CachedAnswer;
}

const LATENCY_WINDOW = 1024;
const TRIM_BUDGET_MS = 8; // one maintenance slice on the main thread; more slices follow on later turns

/**
 * Two tiers: an LRU in memory (memory-tier.ts, within MEMORY_TIER_BYTES) in front of LMDB's `answers` db. Reads are synchronous (the hit path is
 * microseconds); disk writes are queued and committed off-thread. The disk tier is bounded by age order: an index
 * db `answers-age` keyed by [storedAt, key] lets a background slice remove the oldest entries cheaply. Several
 * processes may share the disk tier; each has its own memory tier.
 */
export class AnswerCache {
  private readonly memory: MemoryTier<MemoryEntry>;
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private store: LmdbStore | undefined;
  private readonly onProblem: ((message: string) => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly latencies = new Float64Array(LATENCY_WINDOW);
  private latencyCount = 0;
  private counters = { memoryHits: 0, diskHits: 0, typedAheadHits: 0, misses: 0, evictions: 0, diskEvictions: 0, corruptDrops: 0 };
  private readonly countUndecodable = () => void this.counters.corruptDrops++;
  private writesSinceCheck = 0;
  private readonly checkEvery: number;
  private maintenance: NodeJS.Timeout | undefined;
  private maintenanceDue = 0;
  private maintaining = false;
  private maintainAgain = false;
  private closed = false;

  constructor(options: AnswerCacheOptions) {
    this.maxEntries = Math.max(0, Math.floor(options.maxEntries));
    this.memory = new MemoryTier(this.maxEntries, options.memoryBytes ?? MEMORY_TIER_BYTES);
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.now = options.now ?? Date.now;
    this.checkEvery = Math.max(16, Math.ceil(this.maxEntries / 20));
    this.onProblem = options.onProblem;
    if (options.store) this.attachStore(options.store);
  }

  /**
   * Adds the disk tier later: opening the store (with its crash probe) takes ~100–300 ms, so a server can answer
   * `initialize` with a memory-only cache and attach the store when `openLmdbStore` resolves.
   */
  attachStore(store: LmdbStore): void {
    if (this.maxEntries === 0 || this.closed || this.store || !store.usable) return;
    this.store = store;
    if (this.onProblem) this.unsubscribe = store.onFailure(this.onProblem);
    this.scheduleMaintenance(1000); // purge other schema versions, expired and excess entries
  }

  get(key: string, options: { record?: boolean } = {}): { answer: CachedAnswer; tier: 'memory' | 'disk' } | undefined {
    const record = options.record ?? true;
    const started = performance.now();
    const now = this.now();
    const entry = this.memory.get(key); // now the most recent
    if (entry) {
      if (now - entry.storedAt < this.ttlMs) {
        if (record) this.recordHit('memory', (performance.now() - started) * 1000);
        return { answer: entry.answer, tier: 'memory' };
      }
      // Expired here; another process may have stored a fresher answer on disk, so look there before deleting.
      this.memory.delete(key);
    }
    if (this.diskOn()) {
      const diskKey = KEY_SCHEMA + key;
      const stored = this.store?.get<unknown>('answers', diskKey, this.countUndecodable);
      if (stored !== undefined) {
        if (!isVerified(diskKey, stored)) {
          this.dropCorrupt(diskKey, stored); // never served: flipped bytes must not become ghost text
        } else if (now - stored.s < this.ttlMs) {
          this.remember(key, { storedAt: stored.s, answer: stored.a }); // promote; the disk copy stays
          if (record) this.recordHit('disk', (performance.now() - started) * 1000);
          return { answer: stored.a, tier: 'disk' };
        } else {
          this.removeFromDisk(key, stored.s);
        }
      }
    }
    if (record) this.recordMiss();
    return undefined;
  }

  /** Memory now, disk asynchronously. Never throws. */
  set(key: string, answer: CachedAnswer): void {
    if (this.maxEntries === 0 || this.closed) return;
    const storedAt = this.now();
    this.memory.delete(key);
    this.remember(key, { storedAt, answer });
    if (!this.diskOn()) return;
    const store = this.store!;
    const diskKey = KEY_SCHEMA + key;
    store.batch(() => {
      // One transaction: an answer never lands without the index entry that lets trimming find it.
      store.put('answers', diskKey, { s: storedAt, a: answer, c: checksum(diskKey, storedAt, answer) } satisfies DiskRecord);
      store.put('answers-age', [storedAt, diskKey], true);
    });
    if (++this.writesSinceCheck >= this.checkEvery) this.scheduleMaintenance(0);
  }

  /** Typed-ahead reuse is decided by the engine; it reports the hit here. */
  recordTypedAhead(latencyUs: number): void {
    this.counters.typedAheadHits++;
    this.pushLatency(latencyUs);
  }

  /** For callers that looked up with `{ record: false }` and decide afterwards what the lookup was. */
  recordHit(tier: 'memory' | 'disk', latencyUs: number): void {
    if (tier === 'memory') this.counters.memoryHits++;
    else this.counters.diskHits++;
    this.pushLatency(latencyUs);
  }

  recordMiss(): void {
    this.counters.misses++;
  }

  /** Empties both tiers (all schema versions, all processes' disk entries). */
  async clear(): Promise<void> {
    this.memory.clear();
    if (!this.diskOn()) return;
    await this.store?.clear('answers');
    await this.store?.clear('answers-age');
  }

  stats(): CacheStats {
    const sorted = this.latencies.slice(0, Math.min(this.latencyCount, LATENCY_WINDOW)).sort();
    const at = (q: number) => (sorted.length ? round2(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!) : 0);
    return {
      ...this.counters,
      entries: this.memory.size,
      memoryBytes: this.memory.bytes,
      diskEnabled: this.diskOn(),
      hitLatencyUs: { p50: at(0.5), p99: at(0.99) },
      diskEntries: this.diskOn() ? this.store?.count('answers') : undefined,
    };
  }

  /** Stops maintenance and waits for queued disk writes. The store belongs to whoever opened it: not closed here. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.maintenance) clearTimeout(this.maintenance);
    this.maintenance = undefined;
    this.unsubscribe?.();
    await this.store?.settled();
  }

  private diskOn(): boolean {
    return this.store !== undefined && this.store.usable;
  }

  private remember(key: string, entry: MemoryEntry): void {
    this.counters.evictions += this.memory.set(key, entry, entryBytes(key, entry.answer));
  }

  /** A damaged entry: removed (with its index entry, if its time still reads as one) and counted. */
  private dropCorrupt(diskKey: string, stored: unknown): void {
    this.counters.corruptDrops++;
    this.store?.remove('answers', diskKey);
    const storedAt = (stored as { s?: unknown } | null)?.s;
    if (typeof storedAt === 'number') this.store?.remove('answers-age', [storedAt, diskKey]);
  }

  private removeFromDisk(key: string, storedAt: number): void {
    if (!this.diskOn()) return;
    this.store?.remove('answers', KEY_SCHEMA + key);
    this.store?.remove('answers-age', [storedAt, KEY_SCHEMA + key]);
  }

  private pushLatency(us: number): void {
    this.latencies[this.latencyCount++ % LATENCY_WINDOW] = us;
  }

  private scheduleMaintenance(delayMs: number): void {
    if (this.closed) return;
    if (this.maintaining) {
      this.maintainAgain = true; // picked up when the running slice ends
      return;
    }
    const due = performance.now() + delayMs;
    if (this.maintenance && this.maintenanceDue <= due) return;
    if (this.maintenance) clearTimeout(this.maintenance);
    this.maintenanceDue = due;
    this.maintenance = setTimeout(() => {
      this.maintenance = undefined;
      void this.maintain();
    }, delayMs);
    this.maintenance.unref(); // never keeps the process alive
  }

  /**
   * One slice of disk upkeep, bounded in time. Walks the age index from the oldest entry: removes answers that
   * expired or exceed maxEntries, and index entries left behind when a key was stored again (only the answer whose
   * storedAt matches an index entry is live). Then, once per open, entries of other key schemas.
   */
  private async maintain(): Promise<void> {
    const store = this.store;
    if (!store || !store.usable || this.closed) return;
    this.maintaining = true;
    this.writesSinceCheck = 0;
    try {
      await store.settled(); // count committed writes, and don't walk entries still queued for removal
      const deadline = performance.now() + TRIM_BUDGET_MS;
      const answers = store.count('answers') ?? 0;
      let excess = answers - this.maxEntries;
      // Walk past live entries to find stale index entries only when there are many (walking costs time).
      let stale = (store.count('answers-age') ?? 0) - answers - Math.max(64, this.maxEntries / 4);
      const expiredBefore = this.now() - this.ttlMs;
      let more = false;
      for (const { key } of store.range('answers-age')) {
        if (performance.now() > deadline) {
          more = true;
          break;
        }
        const [storedAt, diskKey] = key as [number, string];
        const current = store.get<unknown>('answers', diskKey, this.countUndecodable);
        if (current !== undefined && !isVerified(diskKey, current)) {
          // Damaged: the age index may never point at it again, so drop it here rather than leave it for ever.
          this.dropCorrupt(diskKey, current);
          store.remove('answers-age', key);
          continue;
        }
        const live = current !== undefined && current.s === storedAt;
        if (!live) {
          store.remove('answers-age', key);
          stale--;
        } else if (excess > 0 || storedAt < expiredBefore) {
          store.batch(() => {
            store.remove('answers', diskKey);
            store.remove('answers-age', key);
          });
          if (storedAt >= expiredBefore) this.counters.diskEvictions++;
          excess--;
        } else if (stale <= 0) {
          break; // everything after this is newer, live and within bounds
        }
      }
      if (!more) more = this.purgeOtherSchemas(store, deadline);
      await store.settled();
      if (more) this.maintainAgain = true;
    } finally {
      this.maintaining = false;
      if (this.maintainAgain) {
        this.maintainAgain = false;
        this.scheduleMaintenance(50); // the next slice, on a later turn: typing keeps priority
      }
    }
  }

  private purged = false;
  /**
   * Removes keys outside the current schema prefix, a time-bounded slice at a time (keys sort as strings: the other
   * schemas lie before 'v2:' and from 'v2;' on). Returns true while some remain.
   */
  private purgeOtherSchemas(store: LmdbStore, deadline: number): boolean {
    if (this.purged) return false;
    const last = KEY_SCHEMA.length - 1;
    const after = KEY_SCHEMA.slice(0, last) + String.fromCharCode(KEY_SCHEMA.charCodeAt(last) + 1);
    for (const range of [{ end: KEY_SCHEMA }, { start: after }]) {
      for (const { key } of store.range('answers', range)) {
        if (performance.now() > deadline) return true;
        store.remove('answers', key);
      }
    }
    this.purged = true;
    return false;
  }
}

function isDiskRecord(value: unknown): value is DiskRecord {
  const record = value as DiskRecord | undefined;
  if (typeof record !== 'object' || record === null || typeof record.s !== 'number' || typeof record.c !== 'string') return false;
  const a = record.a as CachedAnswer | undefined;
  return typeof a === 'object' && a !== null && typeof a.text === 'string' && typeof a.model === 'string'
    && typeof a.method === 'string' && typeof a.rule === 'string' && Array.isArray(a.agreeing)
    && a.agreeing.every((m) => typeof m === 'string') && typeof a.createdAt === 'number';
}

function isVerified(diskKey: string, value: unknown): value is DiskRecord {
  return isDiskRecord(value) && value.c === checksum(diskKey, value.s, value.a);
}

// crypto.hash (Node 20.12+) skips the Hash object: about half the cost for inputs this small.
const sha1Base64: (data: string) => string = typeof nodeCrypto.hash === 'function'
  ? (data) => nodeCrypto.hash('sha1', data, 'base64')
  : (data) => nodeCrypto.createHash('sha1').update(data).digest('base64');

/** 72 bits of SHA-1 over the key, the time and every field of the answer (a damaged key must not match either). */
function checksum(diskKey: string, storedAt: number, a: CachedAnswer): string {
  // Spelled out so that a field added to CachedAnswer fails to compile until it is covered here.
  const fields: Record<keyof CachedAnswer, string | number> = {
    text: a.text, model: a.model, method: a.method, rule: a.rule, agreeing: a.agreeing.join('\u0001'), createdAt: a.createdAt,
  };
  return sha1Base64(`${diskKey}\u0000${storedAt}\u0000${Object.values(fields).join('\u0000')}`).slice(0, 12);
}

/**
 * What an entry takes in V8's heap, estimated on the safe side: two bytes a character (strings with a character
 * beyond Latin-1 take two), plus the Map slot, the entry and answer objects, the array and the string headers
 * (measured: ~560 bytes for a 117-character answer, estimated 660).
 */
function entryBytes(key: string, answer: CachedAnswer): number {
  let chars = key.length + answer.text.length + answer.model.length + answer.method.length + answer.rule.length;
  for (const model of answer.agreeing) chars += model.length;
  return 256 + 2 * chars;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
