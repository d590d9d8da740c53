import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { problemKind, type Phase } from './store-problems.js';

/**
 * What the child-process probe found:
 * - healthy: every step passed (or the probe could not run at all: no evidence either way);
 * - damaged: a crash signal, an MDB_* error that means bad pages, or a hang inside LMDB's own work. The file may be
 *   moved aside and replaced;
 * - unusable: any other failure (permissions, full disk, another version, a check that did not finish while
 *   waiting for another process): the file is left alone and the disk tier stays off for this session.
 */
export type ProbeVerdict =
  | { verdict: 'healthy' }
  | { verdict: 'damaged'; error: Error }
  | { verdict: 'unusable'; error: Error; phase?: Phase };

export interface ProbeOptions {
  /** The named databases the server opens, and the environment options it opens them with. */
  names: readonly string[];
  envOptions: Record<string, unknown>;
  timeoutMs: number;
  /** Time each of the read and rewrite steps may take before it stops early (it is a guard, not a full check). */
  stepBudgetMs?: number;
}

/**
 * Runs in a child process and does what the server will do, so that lmdb-js crashes there instead (it does not fail
 * cleanly on damaged pages: SIGSEGV in mdb_dbi_open, SIGBUS, SIGABRT on `mp_upper >= mp_lower` in mdb_node_add):
 * 1. open the environment read-write with the server's options and every named database with create allowed, as
 *    LmdbStore's constructor does (each open is a write transaction);
 * 2. read every entry (keys and values as raw bytes: a value that does not decode is the cache's business, which
 *    drops it; the pages are what matter here), and as many as the database says it holds;
 * 3. in a transaction that is then aborted, write every entry back and then remove every entry: a write into every
 *    leaf and branch page (page copy, node delete, rebalancing) and the freeing of every overflow page, which
 *    reads never check (they trust neither mp_upper nor an overflow page's page count). An emptied
 *    database must then count no pages and no entries: a damaged overflow header frees a wrong page count. Being
 *    aborted, this writes nothing to the file (a committed rewrite of damaged overflow headers can grow the file
 *    by gigabytes);
 * 4. commit a transaction that puts and removes a probe key in every database: the commit path (free list, meta
 *    page) on the real file, data unchanged. A crash there leaves the file as it was: LMDB writes the meta last.
 * What this cannot reach is damage in pages only later writes use (free pages reused, free-list records):
 * LmdbStore notes such damage when it meets it, and the next start replaces the file (move-aside.ts).
 * Each step prints its name first, so a parent that had to kill it knows where it hung.
 */
const PROBE_SCRIPT = `
const [entry, file, names, options, budget] = process.argv.slice(1);
const step = (name) => process.stdout.write(name + '\\n');
// The time budget stops a step early only past this many entries: on a store this small, slowness is a symptom
// (a page copy with a garbage size took seconds before it crashed a server), not a reason to skip the checks.
const unbounded = 20000;
(async () => {
  const lmdb = require(entry);
  step('open');
  const root = lmdb.open({ ...JSON.parse(options), path: file });
  const dbs = JSON.parse(names).map((name) => root.openDB(name, { encoding: 'binary', keyEncoding: 'binary' }));
  step('read');
  let until = Date.now() + Number(budget);
  dbs.forEach((db, i) => {
    const expected = db.getStats().entryCount; // same read snapshot as the range below (no turn in between)
    let seen = 0, stopped = false;
    for (const { key, value } of db.getRange({})) {
      seen++;
      void value.length; // values are copied out: their pages (overflow pages too) are read
      if (seen > unbounded && Date.now() > until) { stopped = true; break; }
    }
    // lmdb-js ends a range quietly when a cursor step fails: entries it never reached are damage it hid.
    if (!stopped && seen !== expected) {
      throw Object.assign(new Error(JSON.parse(names)[i] + ': ' + seen + ' of ' + expected + ' entries readable'), { code: 'XENCODE_CORRUPT' });
    }
  });
  step('lock');
  until = Date.now() + Number(budget);
  root.transactionSync(() => {
    step('remove');
    dbs.forEach((db, i) => {
      const keys = [...db.getKeys({})]; // inside the transaction: what is there now, other writers included
      let stopped = false;
      // Writing every value back first copies every leaf and branch page (mdb_page_copy trusts mp_upper, a merge
      // while removing only reads the page it empties), then removing frees every node and overflow page.
      let done = 0;
      for (const key of keys) {
        const value = db.getBinary(key);
        if (value !== undefined) db.putSync(key, value);
        if (++done > unbounded && Date.now() > until) { stopped = true; break; }
      }
      for (const key of stopped ? [] : keys) {
        db.removeSync(key);
        if (++done > unbounded && Date.now() > until) { stopped = true; break; }
      }
      const left = db.getStats();
      if (!stopped && (left.entryCount || left.overflowPages || left.treeLeafPageCount || left.treeBranchPageCount)) {
        throw Object.assign(new Error(JSON.parse(names)[i] + ': pages left after removing every entry ('
          + JSON.stringify({ entries: left.entryCount, overflow: left.overflowPages, leaf: left.treeLeafPageCount, branch: left.treeBranchPageCount }) + ')'), { code: 'XENCODE_CORRUPT' });
      }
    });
    return lmdb.ABORT;
  });
  step('lock');
  const probeKey = Buffer.from('\\u0000xencode-probe');
  root.transactionSync(() => {
    step('commit');
    for (const db of dbs) { db.putSync(probeKey, probeKey); db.removeSync(probeKey); }
  });
  await root.close();
  step('ok');
})().catch((e) => {
  process.stdout.write(JSON.stringify({ code: e?.code, message: String(e?.message ?? e) }) + '\\n');
  process.exitCode = 3;
});`;

/** Signals that mean the process crashed (rather than being stopped from outside, e.g. SIGKILL by the OOM killer). */
const CRASH_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGABRT', 'SIGILL', 'SIGFPE', 'SIGTRAP', 'SIGSYS']);
/** Steps that only work on what the file holds, bounded by the probe itself: a kill there means a call that never
 *  returned, and an error there without an errno or MDB code is lmdb-js rejecting bytes that came out of the file. */
const SELF_BOUNDED_STEPS = new Set(['read', 'remove']);

const corrupt = (message: string) => Object.assign(new Error(message), { code: 'XENCODE_CORRUPT' });

/** Probes `file` in a child process. Never throws. */
export function probeInChild(file: string, options: ProbeOptions): Promise<ProbeVerdict> {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve('lmdb');
  } catch {
    return Promise.resolve({ verdict: 'healthy' }); // cannot locate lmdb for a child: skip the guard
  }
  const budget = String(options.stepBudgetMs ?? 2000);
  const args = ['-e', PROBE_SCRIPT, entry, file, JSON.stringify(options.names), JSON.stringify(options.envOptions), budget];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: options.timeoutMs, maxBuffer: 1024 * 1024 }, (failed, stdout, stderr) => {
      const lines = String(stdout).trim().split('\n').filter(Boolean);
      const last = lines[lines.length - 1];
      if (!failed && last === 'ok') return resolve({ verdict: 'healthy' });
      const failure = failed as (Error & { signal?: NodeJS.Signals | null; killed?: boolean }) | null;
      if (failure?.killed) {
        // Killed by our timeout. Where: opening and committing can wait on another process's write, so only a hang
        // in the self-bounded steps counts as damage (a loop in a damaged b-tree, inside one LMDB call).
        const why = `the check of the file did not finish within ${options.timeoutMs} ms (at: ${last ?? 'start'})`;
        return resolve(last !== undefined && SELF_BOUNDED_STEPS.has(last)
          ? { verdict: 'damaged', error: corrupt(why) }
          : { verdict: 'unusable', error: new Error(why) });
      }
      if (failure?.signal) {
        return resolve(CRASH_SIGNALS.has(failure.signal)
          ? { verdict: 'damaged', error: corrupt(`opening it crashed a test process (${failure.signal})`) }
          : { verdict: 'unusable', error: new Error(`the check of the file was stopped (${failure.signal})`) });
      }
      if (last === undefined) return resolve({ verdict: 'healthy' }); // the child could not run at all: no evidence
      let reported: { code?: unknown; message?: string };
      try {
        reported = JSON.parse(last) as { code?: unknown; message?: string };
      } catch {
        // It exited without a word (a fatal error in lmdb-js or V8, e.g. a buffer of a garbage size): in a step
        // that only reads and writes what the file holds, that is the file.
        const why = String(stderr).trim().split('\n').pop()?.slice(0, 200);
        const error = new Error(`the check of the file ended early (at: ${last}${why ? `; ${why}` : ''})`);
        return resolve(SELF_BOUNDED_STEPS.has(last)
          ? { verdict: 'damaged', error: Object.assign(error, { code: 'XENCODE_CORRUPT' }) }
          : { verdict: 'unusable', error });
      }
      const error = Object.assign(new Error(reported.message ?? 'the check of the file failed'), { code: reported.code });
      // A commit that fails with EIO is a disk that filled up, as in LmdbStore.
      const phase = lines.includes('commit') ? 'write' : 'open';
      // lmdb-js's own checks (no code) on keys and values that came out of the file, e.g. "Key size is larger than
      // the maximum key size", mean the file holds what LMDB never writes.
      const step = lines[lines.length - 2];
      const fromData = reported.code === undefined && step !== undefined && SELF_BOUNDED_STEPS.has(step);
      if (fromData) Object.assign(error, { code: 'XENCODE_CORRUPT' });
      resolve(fromData || problemKind(error, phase) === 'damaged' ? { verdict: 'damaged', error } : { verdict: 'unusable', error, phase });
    });
  });
}
