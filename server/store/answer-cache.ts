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
 */
export const KEY_SCHEMA = 'v1:';
export const DEFAULT_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** The memory tier's default bound: some 6,000 completions (see memory-tier.ts). */
export const MEMORY_TIER_BYTES = 4 * 1024 * 1024;

/** What the answers db holds: the answer and when this cache stored it (TTL and age order use the cache's clock). */
interface DiskRecord {
  s: number;
  a: CachedAnswer;
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
  private counters = { memoryHits: 0, diskHits: 0, typedAheadHits: 0, misses: 0, evictions: 0, diskEvictions: 0 };
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
      const stored = this.store?.get<DiskRecord>('answers', KEY_SCHEMA + key);
      if (isDiskRecord(stored)) {
        if (now - stored.s < this.ttlMs) {
          this.remember(key, { storedAt: stored.s, answer: stored.a }); // promote; the disk copy stays
          if (record) this.recordHit('disk', (performance.now() - started) * 1000);
          return { answer: stored.a, tier: 'disk' };
        }
        this.removeFromDisk(key, stored.s);
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
      store.put('answers', diskKey, { s: storedAt, a: answer } satisfies DiskRecord);
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
        const current = store.get<DiskRecord>('answers', diskKey);
        const live = isDiskRecord(current) && current.s === storedAt;
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
   * schemas lie before 'v1:' and from 'v1;' on). Returns true while some remain.
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
  return typeof record === 'object' && record !== null && typeof record.s === 'number' && typeof record.a?.text === 'string';
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
