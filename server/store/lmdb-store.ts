import { execFile } from 'node:child_process';
import { chmodSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { open, type Database, type Key, type RootDatabase } from 'lmdb';
import { checkEnvFiles, ensureDataDir } from './data-dir.js';

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
   * Open the file in a child process first. lmdb-js 3.5 does not fail cleanly on a damaged file: a bad header or
   * bad pages crash the whole process (SIGSEGV in its failed-open path, SIGBUS on bad pages). The probe (~150 ms,
   * off the main thread) takes that crash instead of the server. Default true; tests of healthy files turn it off.
   */
  probe?: boolean;
  probeTimeoutMs?: number;
}

export type OpenStoreResult = { store: LmdbStore; problem?: undefined } | { store: undefined; problem: string };

/** Opens (creating when needed) the environment in `dataDir`. Never throws: a problem comes back as a message. */
export async function openLmdbStore(options: OpenStoreOptions): Promise<OpenStoreResult> {
  const { dataDir } = options;
  const file = join(dataDir, ENV_FILE);
  const refuse = (err: unknown, phase: Phase) => ({ store: undefined, problem: describeStoreProblem(err, phase, file) });
  try {
    const dir = ensureDataDir(dataDir);
    if (!dir.ok) return refuse(dir.error, 'dir');
    // lmdb-js's native open crashes on most failures once the lock file is set up: find them in JS first.
    const unfit = checkEnvFiles(file);
    if (unfit) return refuse(unfit, 'open');
    if ((options.probe ?? true) && statSync(file).size > 0) {
      const probed = await probeInChild(file, options.probeTimeoutMs ?? 10_000);
      if (probed) return refuse(probed, 'open');
    }
    const root = open<unknown, Key>({ path: file, ...ENV_OPTIONS });
    keepPrivate(file);
    let store: LmdbStore;
    try {
      store = new LmdbStore(dataDir, file, root);
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
    return { store };
  } catch (err) {
    return refuse(err, 'open');
  }
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

  get<T>(name: DbName, key: Key): T | undefined {
    if (!this.usable) return undefined;
    try {
      return this.db(name).get(key) as T | undefined;
    } catch (err) {
      if (typeof (err as { code?: unknown }).code === 'number') this.fail(err, 'read');
      else this.remove(name, key); // an undecodable value: drop that entry, keep the store
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

export type Phase = 'dir' | 'open' | 'read' | 'write';

const MDB_CODES: Record<number, string> = {
  [-30797]: 'MDB_PAGE_NOTFOUND', [-30796]: 'MDB_CORRUPTED', [-30795]: 'MDB_PANIC', [-30794]: 'MDB_VERSION_MISMATCH',
  [-30793]: 'MDB_INVALID', [-30792]: 'MDB_MAP_FULL', [-30790]: 'MDB_READERS_FULL', [-30778]: 'MDB_BAD_CHECKSUM',
};
const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, value]) => [value, name]));

/** Node errors carry string codes, lmdb-js errors numeric ones (errno or MDB_*). One name for both. */
export function errorCodeName(err: unknown): string {
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string') return e.code;
  if (typeof e.code === 'number') return MDB_CODES[e.code] ?? ERRNO_NAMES.get(e.code) ?? String(e.code);
  return /\b(MDB_[A-Z_]+|E[A-Z]{3,})\b/.exec(String(e.message ?? ''))?.[1] ?? 'unknown';
}

const KINDS: Record<string, string> = {
  EACCES: 'denied', EPERM: 'denied', EROFS: 'denied',
  ENOSPC: 'full', EDQUOT: 'full', EFBIG: 'full', MDB_MAP_FULL: 'full',
  MDB_INVALID: 'damaged', MDB_CORRUPTED: 'damaged', MDB_PAGE_NOTFOUND: 'damaged', MDB_PANIC: 'damaged',
  MDB_BAD_CHECKSUM: 'damaged', XENCODE_CORRUPT: 'damaged',
  MDB_VERSION_MISMATCH: 'version', XENCODE_LAYOUT: 'version',
  EISDIR: 'not-a-file', ENOTDIR: 'not-a-file', MDB_READERS_FULL: 'readers',
};

/** A message the user can act on: what failed, where, what to do. Completions keep being cached in memory. */
export function describeStoreProblem(err: unknown, phase: Phase, file: string): string {
  const code = errorCodeName(err);
  const message = String((err as Error | undefined)?.message ?? err);
  const detail = message.startsWith(code) ? message : `${code}: ${message}`; // Node's messages start with the code
  const dir = join(file, '..');
  const then = 'or set XENCODE_DATA_DIR to another folder, then restart. Completions are cached in memory only until then.';
  // A short write is how LMDB reports a file system that filled up mid-commit.
  const kind = code === 'EIO' && phase === 'write' ? 'full' : KINDS[code];
  if (phase === 'dir') {
    const why = kind === 'not-a-file' ? 'part of that path is a file, not a folder'
      : code === 'EROFS' ? 'read-only file system' : kind === 'denied' ? 'permission denied' : detail;
    return `Xencode cannot create its data directory ${dir} (${why}). Create it yourself ${then}`;
  }
  switch (kind) {
    case 'denied':
      return `Xencode cannot write to ${file} (${code === 'EROFS' ? 'read-only file system' : 'permission denied'}). `
        + `Make ${dir} writable for your user ${then}`;
    case 'full':
      return `The disk holding ${file} is full (${code}); the disk cache is off for this session. Free some space ${then}`;
    case 'damaged':
      return `${file} is damaged (${detail}). Move it away or delete it with ${ENV_FILE}-lock (it holds cached answers `
        + `and recorded feedback) ${then}`;
    case 'version':
      return `${file} was written by an incompatible version (${detail}). Use the Xencode that wrote it, move the file away `
        + then;
    case 'not-a-file':
      return `${file} is not a regular file (${code}). Remove what is there ${then}`;
    case 'readers':
      return `Too many processes have ${file} open (${code}). Close some editors ${then}`;
    default:
      return `Xencode's disk store at ${file} failed while ${phase === 'write' ? 'writing' : phase === 'read' ? 'reading' : 'opening'} `
        + `(${detail}). Check the folder ${then}`;
  }
}

/**
 * Opens the file in a child process exactly as the server will (read-write, same options; read-only opens skip
 * pages that a read-write open touches) and reads every existing sub-database, writing nothing. A crash there
 * (signal) or an MDB_* error means damage. Reading stops after 2 s: this is a guard, not a full check.
 */
const PROBE_SCRIPT = `
const [entry, file, names, options] = process.argv.slice(1);
try {
  const root = require(entry).open({ ...JSON.parse(options), path: file });
  const until = Date.now() + 2000;
  for (const name of JSON.parse(names)) {
    let db; try { db = root.openDB(name, { create: false }); } catch { continue; }
    if (!db) continue;
    for (const entry of db.getRange({})) { void entry.value; if (Date.now() > until) break; }
  }
  process.stdout.write('ok');
} catch (e) { process.stdout.write(JSON.stringify({ code: e.code, message: String(e.message) })); process.exitCode = 3; }`;

function probeInChild(file: string, timeoutMs: number): Promise<Error | undefined> {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve('lmdb');
  } catch {
    return Promise.resolve(undefined); // cannot locate lmdb for a child: skip the guard, the header check passed
  }
  const args = ['-e', PROBE_SCRIPT, entry, file, JSON.stringify(DB_NAMES), JSON.stringify(ENV_OPTIONS)];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: timeoutMs }, (error, stdout) => {
      if (!error && stdout === 'ok') return resolve(undefined);
      const failure = error as (Error & { signal?: string | null; killed?: boolean }) | null;
      // A damaged b-tree can loop: a probe that never finishes is not trusted.
      if (failure?.killed) return resolve(Object.assign(new Error(`check timed out after ${timeoutMs} ms`), { code: 'XENCODE_CORRUPT' }));
      if (failure?.signal) return resolve(Object.assign(new Error(`opening it crashed a test process (${failure.signal})`), { code: 'XENCODE_CORRUPT' }));
      try {
        const reported = JSON.parse(stdout) as { code?: unknown; message?: string };
        resolve(Object.assign(new Error(reported.message ?? 'probe failed'), { code: reported.code }));
      } catch {
        resolve(undefined); // the child could not run at all (spawn error, odd runtime): no evidence of damage
      }
    });
  });
}
