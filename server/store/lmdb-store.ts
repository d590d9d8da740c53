import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type Key, type RootDatabase } from 'lmdb';
import { checkEnvFiles, ensureDataDir } from './data-dir.js';
import { identify, moveAside, notedDamage, noteDamage, sameFile, waitWhileReplacing, type FileIdentity } from './move-aside.js';
import { probeInChild, type ProbeVerdict } from './store-probe.js';
import { describeReplacement, describeStoreProblem, problemDetail, problemKind, type Phase } from './store-problems.js';

export { describeStoreProblem, errorCodeName, type Phase } from './store-problems.js';

/** One environment file (plus `xencode.lmdb-lock`) in the data directory; every sub-database lives inside it. */
export const ENV_FILE = 'xencode.lmdb';
/** The named sub-databases. Adding one (feedback, model-stats) is adding its name here. */
export const DB_NAMES = ['meta', 'answers', 'answers-age', 'feedback', 'feedback-ids', 'learned'] as const;
export type DbName = (typeof DB_NAMES)[number];
/** Layout of the sub-databases. A file written by a newer layout is refused rather than misread. */
export const STORE_LAYOUT = 1;

/**
 * Environment options. Every process that opens the data directory must use the same ones (LMDB is multi-process:
 * the lock file coordinates readers and the single writer). Deliberately absent: `noLock` and `noSync`/`useWritemap`
 * (break multi-process safety or crash safety), `compression` and `sharedStructuresKey` (answers are small, and both
 * must match in every process forever), lmdb-js's object `cache` (stale across processes; we have our own LRU).
 */
export const ENV_OPTIONS = {
  maxDbs: 16, // per handle, not persisted: room for DB_NAMES to grow
  maxReaders: 126, // LMDB's default; reader slots are shared by all processes and each Xencode uses 1–2
  encoding: 'msgpack',
  // lmdb-js 3.5 with event-turn batching rejects an internal promise nobody can handle when a commit fails (disk
  // full): an unhandled rejection per failed batch. Without it, only the put promises we watch are rejected.
  eventTurnBatching: false,
  // With overlapping sync (lmdb-js's default on Linux/macOS) a failed commit leaves its flush promise pending for
  // ever, and close() waits on it. Plain synchronous commits (still on lmdb-js's write thread) close cleanly.
  overlappingSync: false,
} as const;

export interface OpenStoreOptions {
  dataDir: string;
  /**
   * Open the file in a child process first. lmdb-js 3.5 does not fail cleanly on a damaged file: bad pages crash
   * the whole process (SIGSEGV, SIGBUS, SIGABRT), on every start. The probe (store-probe.ts: ~200 ms, off the main
   * thread) opens, reads and writes as the server will and takes that crash instead. Default true; tests of
   * healthy files turn it off.
   */
  probe?: boolean;
  probeTimeoutMs?: number;
}

/**
 * `notice`: the store opened, but only after a damaged file was moved aside and replaced by a new one; the message
 * says where the old file was kept and what was lost. `problem`: no disk tier this session, and why.
 */
export type OpenStoreResult =
  | { store: LmdbStore; problem?: undefined; notice?: string }
  | { store: undefined; problem: string; notice?: undefined };

/** A header that reads as damaged is read again after this long: another process may be writing a new file. */
const HEADER_RECHECK_MS = 100;
/** Opens retried after a replacement, or after another process changed the file while it was checked. */
const MAX_ATTEMPTS = 4;

/**
 * Opens (creating when needed) the environment in `dataDir`. Never throws: a problem comes back as a message. A
 * damaged file (bad header, or pages that fail the probe) is moved aside and a new store created in its place;
 * anything else that is wrong (permissions, full disk, a newer version) leaves the file alone and the disk tier off.
 */
export async function openLmdbStore(options: OpenStoreOptions): Promise<OpenStoreResult> {
  const { dataDir } = options;
  const file = join(dataDir, ENV_FILE);
  const refuse = (err: unknown, phase: Phase) => ({ store: undefined, problem: describeStoreProblem(err, phase, file) });
  try {
    const dir = ensureDataDir(dataDir);
    if (!dir.ok) return refuse(dir.error, 'dir');
    let notice: string | undefined;
    for (let attempt = 1; ; attempt++) {
      await waitWhileReplacing(file);
      const found = await examine(file, options);
      if (found.verdict === 'healthy') break;
      if (found.verdict === 'unusable') return refuse(found.error, found.phase ?? 'open');
      if (found.verdict === 'retry') {
        if (attempt < MAX_ATTEMPTS) continue;
        return refuse(Object.assign(new Error('the file kept changing while it was checked'), { code: 'XENCODE_BUSY' }), 'open');
      }
      // Replace at most once per open: a new file that fails as well points at something other than this file.
      if (notice !== undefined || attempt >= MAX_ATTEMPTS) return refuse(found.error, 'open');
      const moved = await moveAside(file, found.identity);
      if ('error' in moved) {
        return { store: undefined, problem: `${describeStoreProblem(found.error, 'open', file)} (Xencode could not move it aside itself: ${moved.error.code ?? moved.error.message}.)` };
      }
      if ('moved' in moved) notice = describeReplacement(found.error, file, moved.moved);
      // Either way the next attempt opens the file that is there now: ours, or the one another process made.
    }
    const identity = identify(file);
    const root = open<unknown, Key>({ path: file, ...ENV_OPTIONS });
    keepPrivate(file);
    let store: LmdbStore;
    try {
      store = new LmdbStore(dataDir, file, root, identity);
    } catch (err) {
      await root.close().catch(() => undefined);
      return refuse(err, 'open');
    }
    const layout = store.get<number>('meta', 'layout');
    if (typeof layout === 'number' && layout > STORE_LAYOUT) {
      await store.close();
      return refuse(Object.assign(new Error(`store layout ${layout}`), { code: 'XENCODE_LAYOUT', layout }), 'open');
    }
    if (layout === undefined) store.put('meta', 'layout', STORE_LAYOUT);
    return { store, notice };
  } catch (err) {
    return refuse(err, 'open');
  }
}

type Examined = { verdict: 'healthy' } | { verdict: 'retry' } | Exclude<ProbeVerdict, { verdict: 'healthy' | 'damaged' }>
  | { verdict: 'damaged'; error: Error; identity: FileIdentity };

/**
 * The header check (in JS: lmdb-js's native open crashes on most failures once the lock file is set up), then the
 * child-process probe. `retry` when the file changed while it was looked at (another process replaced it).
 */
async function examine(file: string, options: OpenStoreOptions): Promise<Examined> {
  const unfit = checkEnvFiles(file); // creates missing files
  if (unfit && problemKind(unfit, 'open') !== 'damaged') return { verdict: 'unusable', error: unfit };
  const identity = identify(file);
  if (!identity) return { verdict: 'retry' }; // created, then moved aside by another process
  if (unfit) {
    // LMDB writes a new file's two meta pages right after creating it: a header caught half-written is not damage.
    await new Promise((resolve) => setTimeout(resolve, HEADER_RECHECK_MS));
    const again = identify(file);
    if (!sameFile(again, identity) || again?.size !== identity.size || !checkEnvFiles(file)) return { verdict: 'retry' };
    return { verdict: 'damaged', error: unfit, identity };
  }
  const noted = notedDamage(file, identity);
  if (noted) return { verdict: 'damaged', error: noted, identity };
  if (!(options.probe ?? true) || identity.size === 0) return { verdict: 'healthy' };
  const probed = await probeInChild(file, { names: DB_NAMES, envOptions: ENV_OPTIONS, timeoutMs: options.probeTimeoutMs ?? 10_000 });
  if (probed.verdict !== 'damaged') return probed;
  // What failed must be what is there now: if another process replaced the file meanwhile, look at the new one.
  return sameFile(identify(file), identity) ? { ...probed, identity } : { verdict: 'retry' };
}

/**
 * The open environment. Reads are synchronous (microseconds); writes are queued and committed off the main thread.
 * Nothing here throws: the first failed write (or a damaged page found by a read) turns the store off and is
 * reported once to each listener; callers check `failure` and fall back to memory.
 */
export class LmdbStore {
  private readonly dbs = new Map<DbName, Database<unknown, Key>>();
  private readonly listeners = new Set<(message: string) => void>();
  private off = false;
  private message: string | undefined;
  private closed = false;
  private lastWatched: unknown;

  constructor(
    readonly dataDir: string,
    readonly file: string,
    private readonly root: RootDatabase<unknown, Key>,
    /** The file's inode when it was opened: damage met later is noted against it (see move-aside.ts). */
    private readonly identity?: FileIdentity,
  ) {
    for (const name of DB_NAMES) this.dbs.set(name, root.openDB<unknown, Key>(name, {}));
  }

  /** Set once the disk tier is off (after a failed write or read); the message says why. */
  get failure(): string | undefined {
    return this.off ? (this.message ?? 'the disk store failed') : undefined;
  }

  get usable(): boolean {
    return !this.off && !this.closed;
  }

  /** Called once with the failure message (at once if it already failed). Returns an unsubscribe function. */
  onFailure(listener: (message: string) => void): () => void {
    if (this.message !== undefined) listener(this.message);
    else this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** `onUndecodable` is told when the entry's bytes did not decode (it is then removed). */
  get<T>(name: DbName, key: Key, onUndecodable?: () => void): T | undefined {
    if (!this.usable) return undefined;
    try {
      return this.db(name).get(key) as T | undefined;
    } catch (err) {
      if (typeof (err as { code?: unknown }).code === 'number') this.fail(err, 'read');
      else {
        this.remove(name, key); // an undecodable value: drop that entry, keep the store
        onUndecodable?.();
      }
      return undefined;
    }
  }

  /** Entries of one sub-database in key order (for maintenance: trimming, purging). Stops quietly on error. */
  *range(name: DbName, options: { start?: Key; end?: Key; limit?: number } = {}): Generator<{ key: Key; value: unknown }> {
    if (!this.usable) return;
    try {
      for (const { key, value } of this.db(name).getRange({ ...options, snapshot: false })) yield { key, value };
    } catch (err) {
      if (typeof (err as { code?: unknown }).code === 'number') this.fail(err, 'read');
    }
  }

  /** Entry count from LMDB's b-tree statistics (O(1); committed data only). */
  count(name: DbName): number | undefined {
    if (!this.usable) return undefined;
    try {
      return (this.db(name).getStats() as { entryCount?: number }).entryCount;
    } catch (err) {
      this.fail(err, 'read');
      return undefined;
    }
  }

  put(name: DbName, key: Key, value: unknown): void {
    if (!this.usable) return;
    try {
      this.watch(this.db(name).put(key, value));
    } catch {
      // Synchronous throws are about this one entry (key too long, value not encodable), not the disk.
    }
  }

  /** Queues the writes `writes` makes (put/remove on this store) as one transaction: all land or none. */
  batch(writes: () => void): void {
    if (!this.usable) return;
    try {
      this.watch(this.root.batch(writes));
    } catch {
      /* as in put */
    }
  }

  remove(name: DbName, key: Key): void {
    if (!this.usable) return;
    try {
      this.watch(this.db(name).remove(key));
    } catch {
      /* as in put */
    }
  }

  async clear(name: DbName): Promise<void> {
    if (!this.usable) return;
    try {
      await this.db(name).clearAsync();
    } catch (err) {
      this.failFromCommit(err);
    }
  }

  /** Resolves when the writes queued so far are committed (or failed). */
  async settled(): Promise<void> {
    if (this.closed) return;
    try {
      await this.root.committed;
    } catch {
      /* reported through watch() */
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const failed = this.off;
    if (!failed) await this.settled();
    this.closed = true;
    this.listeners.clear();
    // After a failed commit lmdb-js may wait for writes that will never finish: don't let shutdown hang on it.
    const closing = this.root.close().catch(() => undefined);
    if (!failed) return void (await closing);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closing, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
  }

  private db(name: DbName): Database<unknown, Key> {
    const db = this.dbs.get(name);
    if (!db) throw new Error(`unknown store database ${name}`);
    return db;
  }

  private watch(promise: Promise<unknown>): void {
    // Puts in one transaction share one promise: watch each promise once.
    if (promise === this.lastWatched) return;
    this.lastWatched = promise;
    promise.then(undefined, (err: unknown) => this.failFromCommit(err));
  }

  /** lmdb-js rejects with "Commit failed (see commitError)"; `commitError` is a promise rejected with the errno. */
  private failFromCommit(err: unknown): void {
    const inner = (err as { commitError?: Promise<unknown> } | undefined)?.commitError;
    const wasOff = this.off;
    this.off = true; // stop queuing writes now, before the real cause arrives
    if (inner && typeof inner.then === 'function') {
      inner.then(
        () => wasOff || this.fail(err, 'write'),
        (cause: unknown) => wasOff || this.fail(cause, 'write'),
      );
    } else if (!wasOff) this.fail(err, 'write');
  }

  private fail(err: unknown, phase: Phase): void {
    this.off = true;
    if (this.message !== undefined) return;
    this.message = describeStoreProblem(err, phase, this.file);
    if (this.identity && problemKind(err, phase) === 'damaged') noteDamage(this.file, this.identity, problemDetail(err));
    for (const listener of this.listeners) listener(this.message);
    this.listeners.clear();
  }
}

/**
 * The store holds the user's code (cached answers, feedback records): readable by the user alone. LMDB creates its
 * files with the process's umask (usually 0644); they are narrowed to 0600 on every open.
 */
function keepPrivate(file: string): void {
  for (const path of [file, `${file}-lock`]) {
    try {
      chmodSync(path, 0o600);
    } catch {
      /* another user's file, or a read-only system: opening worked, so serving goes on */
    }
  }
}
