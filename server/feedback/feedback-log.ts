import type { LmdbStore } from '../store/lmdb-store.js';
import { applyOutcomePatch, type OutcomePatch } from './outcome-tracker.js';
import { FEEDBACK_SCHEMA, type FeedbackRecord } from './record.js';

/**
 * The durable feedback log: records in LMDB's `feedback` database keyed by [time, id] (so age order is key order,
 * and trimming the oldest is a range read), with `feedback-ids` mapping an id to its time for the outcome updates
 * that arrive later. Nothing here runs on the request path: `add` and `update` queue in memory, and a timer commits
 * the queue as one transaction every `flushMs`. A `kill -9` loses at most what was queued since the last commit
 * (one flush window); what was committed survives (LMDB commits are synchronous and crash-safe with our options).
 */

export interface FeedbackLogOptions {
  readonly maxEvents: number;
  readonly maxDays: number;
  /** How long an event waits in memory before its commit (the most a crash can lose). */
  readonly flushMs?: number;
  /** Applied to every record and patch just before it is written (redaction, the privacy level). */
  readonly prepare?: {
    record(record: FeedbackRecord): FeedbackRecord;
    patch(patch: OutcomePatch): OutcomePatch;
  };
  readonly now?: () => number;
}

export const DEFAULT_FLUSH_MS = 250;
/** Records per transaction (and per turn of the event loop). */
const FLUSH_SLICE = 8;
/** Pending events kept while no store is attached (the store opens after start-up); older ones are dropped. */
const MAX_QUEUED = 5_000;
const TRIM_SLICE = 500;
const DAY_MS = 24 * 60 * 60 * 1000;

type Key = [number, string];

export class FeedbackLog {
  private store: LmdbStore | undefined;
  /** Records not yet committed, by id (so a patch before the commit merges in memory). */
  private readonly pendingRecords = new Map<string, FeedbackRecord>();
  private readonly pendingPatches = new Map<string, OutcomePatch[]>();
  private timer: NodeJS.Timeout | undefined;
  private sliceQueued = false;
  private readonly flushMs: number;
  private readonly now: () => number;
  private writesSinceTrim = 0;
  /** Counters for xencode.stats. */
  readonly counters = { recorded: 0, updated: 0, dropped: 0, trimmed: 0, lostUpdates: 0 };

  constructor(private options: FeedbackLogOptions) {
    this.flushMs = options.flushMs ?? DEFAULT_FLUSH_MS;
    this.now = options.now ?? Date.now;
  }

  setOptions(options: FeedbackLogOptions): void {
    this.options = { ...options, flushMs: this.flushMs };
  }

  /** The store opened: what was queued meanwhile is written with the next flush. */
  attach(store: LmdbStore): void {
    this.store = store;
    this.schedule();
  }

  get attached(): boolean {
    return this.store?.usable === true;
  }

  add(record: FeedbackRecord): void {
    if (this.pendingRecords.size >= MAX_QUEUED) {
      const oldest = this.pendingRecords.keys().next().value!;
      this.pendingRecords.delete(oldest);
      this.pendingPatches.delete(oldest);
      this.counters.dropped++;
    }
    this.pendingRecords.set(record.id, record);
    this.schedule();
  }

  update(id: string, patch: OutcomePatch): void {
    const list = this.pendingPatches.get(id);
    if (list) list.push(patch);
    else this.pendingPatches.set(id, [patch]);
    this.schedule();
  }

  /**
   * Commits what is queued, FLUSH_SLICE records to a transaction, the next slice on the next turn: preparing a
   * record (redaction) takes a fraction of a millisecond, and a request arriving meanwhile waits for the slice.
   */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.flushSlice() && !this.sliceQueued) {
      this.sliceQueued = true;
      setImmediate(() => {
        this.sliceQueued = false;
        this.flush();
      }).unref();
    }
  }

  /** Commits everything queued now (at close). */
  flushAll(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.flushSlice()) {
      /* every slice */
    }
  }

  /** Commits one slice; true when more is queued. */
  private flushSlice(): boolean {
    const store = this.store;
    if (!store?.usable || (this.pendingRecords.size === 0 && this.pendingPatches.size === 0)) return false;
    const prepare = this.options.prepare;
    const records: FeedbackRecord[] = [];
    for (const record of this.pendingRecords.values()) {
      if (records.length >= FLUSH_SLICE) break;
      records.push(record);
    }
    for (const record of records) this.pendingRecords.delete(record.id);
    const inSlice = new Set(records.map((r) => r.id));
    // Patches of records still queued wait for their record's slice.
    const patches = [...this.pendingPatches].filter(([id]) => inSlice.has(id) || !this.pendingRecords.has(id));
    for (const [id] of patches) this.pendingPatches.delete(id);
    const written = new Map<string, FeedbackRecord>();
    for (const record of records) written.set(record.id, prepare ? prepare.record(record) : record);
    store.batch(() => {
      for (const [id, list] of patches) {
        let record = written.get(id);
        let fresh = record !== undefined;
        if (!record) {
          const time = store.get<number>('feedback-ids', id);
          record = time === undefined ? undefined : store.get<FeedbackRecord>('feedback', [time, id]);
          fresh = false;
        }
        if (!record) {
          this.counters.lostUpdates++; // trimmed or cleared meanwhile
          continue;
        }
        for (const patch of list) record = applyOutcomePatch(record, prepare ? prepare.patch(patch) : patch);
        if (fresh) written.set(id, record);
        else store.put('feedback', [record.time, id], record);
        this.counters.updated++;
      }
      for (const record of written.values()) {
        store.put('feedback', [record.time, record.id], record);
        store.put('feedback-ids', record.id, record.time);
      }
    });
    this.counters.recorded += records.length;
    this.writesSinceTrim += records.length;
    if (this.writesSinceTrim >= TRIM_SLICE / 5) this.trim();
    return this.pendingRecords.size > 0 || this.pendingPatches.size > 0;
  }

  /** Removes records past `maxDays` and beyond `maxEvents`, oldest first, a slice at a time. */
  trim(): void {
    const store = this.store;
    if (!store?.usable) return;
    this.writesSinceTrim = 0;
    const cutoff = this.now() - this.options.maxDays * DAY_MS;
    const excess = Math.max(0, (store.count('feedback') ?? 0) - this.options.maxEvents);
    const doomed: Key[] = [];
    for (const { key } of store.range('feedback', { limit: TRIM_SLICE })) {
      const [time] = key as Key;
      if (doomed.length >= excess && time >= cutoff) break;
      doomed.push(key as Key);
    }
    if (doomed.length === 0) return;
    store.batch(() => {
      for (const key of doomed) {
        store.remove('feedback', key);
        store.remove('feedback-ids', key[1]);
      }
    });
    this.counters.trimmed += doomed.length;
    if (doomed.length === TRIM_SLICE) setTimeout(() => this.trim(), 0).unref();
  }

  /** Committed records, oldest first (another process's commits included). */
  *records(since?: number): Generator<FeedbackRecord> {
    const store = this.store;
    if (!store?.usable) return;
    const start: Key | undefined = since !== undefined ? [since, ''] : undefined;
    for (const { value } of store.range('feedback', start ? { start } : {})) {
      const record = upgrade(value);
      if (record) yield record;
    }
  }

  get(id: string): FeedbackRecord | undefined {
    const pending = this.pendingRecords.get(id);
    if (pending) return (this.pendingPatches.get(id) ?? []).reduce(applyOutcomePatch, pending);
    const store = this.store;
    if (!store?.usable) return undefined;
    const time = store.get<number>('feedback-ids', id);
    return time === undefined ? undefined : upgrade(store.get('feedback', [time, id]));
  }

  /** Whether a record with this id is queued or stored (updates for others are not queued). */
  has(id: string): boolean {
    if (this.pendingRecords.has(id)) return true;
    return this.store?.usable === true && this.store.get<number>('feedback-ids', id) !== undefined;
  }

  count(): number | undefined {
    return this.store?.usable ? this.store.count('feedback') : undefined;
  }

  async clear(): Promise<void> {
    this.pendingRecords.clear();
    this.pendingPatches.clear();
    if (!this.store?.usable) return;
    await this.store.clear('feedback');
    await this.store.clear('feedback-ids');
  }

  /** Commits what is queued and waits for the disk. */
  async close(): Promise<void> {
    this.flushAll();
    await this.store?.settled();
  }

  private schedule(): void {
    if (this.timer || !this.store) return;
    this.timer = setTimeout(() => this.flush(), this.flushMs);
    this.timer.unref();
  }
}

/** A stored value as a current record, or undefined for one this version cannot read. */
function upgrade(value: unknown): FeedbackRecord | undefined {
  const record = value as FeedbackRecord | undefined;
  if (!record || typeof record !== 'object' || typeof record.schema !== 'number') return undefined;
  if (record.schema > FEEDBACK_SCHEMA) return undefined; // written by a newer Xencode
  return record;
}
