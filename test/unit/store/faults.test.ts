/**
 * Every way the disk tier can fail, against real LMDB files. How each fault is produced (tests run as root here,
 * where permission bits do not stop writes):
 * - data dir not creatable: a parent path that is a regular file (ENOTDIR; fails for root too).
 * - read-only dir: non-root: chmod 0o500. Root: /sys as the data dir (the kernel refuses new files: EACCES), and a
 *   child process running as `nobody` against a 0o555 folder (a real EACCES from the same code path).
 * - read-only file system (EROFS) and a really full disk (ENOSPC): a tmpfs in a private mount namespace
 *   (`unshare -m`), when this machine allows it; otherwise only the message mapping is checked.
 * - disk full while writing: a file-size limit (RLIMIT_FSIZE via `prlimit`) on this very process makes the next
 *   commit that grows the file fail (LMDB reports the short write as EIO). lmdb-js grows its map by itself, so a tiny
 *   `mapSize` never produces MDB_MAP_FULL.
 * - damaged file: garbage bytes (caught by the header check), and a valid header over garbage pages (which crashes
 *   lmdb-js with SIGBUS: the child-process probe takes the crash); both are moved aside and replaced. Damage in
 *   data pages, pattern by pattern, is in damaged-store.test.ts.
 * - version mismatch: the LMDB format field patched in both meta pages; a newer store layout in the meta db.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AnswerCache } from '../../../server/store/answer-cache.js';
import { describeStoreProblem, ENV_FILE, openLmdbStore, type LmdbStore } from '../../../server/store/lmdb-store.js';
import { noteDamage } from '../../../server/store/move-aside.js';
import { answer, canMountTmpfs, cleanupTempDirs, removeTranspiled, inTmpfs, isRoot, runChild, tempDir } from './helpers.js';

const opened: LmdbStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  cleanupTempDirs();
});
afterAll(removeTranspiled);

async function filledStore(entries: number): Promise<string> {
  const dir = tempDir();
  const { store } = await openLmdbStore({ dataDir: dir, probe: false });
  const cache = new AnswerCache({ maxEntries: 10_000, store });
  for (let i = 0; i < entries; i++) cache.set(`k${i}`, answer(`answer number ${i} `.repeat(8)));
  await cache.close();
  await store!.close();
  return dir;
}

/** The path a replacement notice names for the kept file. */
function keptAt(notice: string): string {
  const path = / moved it to (\S+) and started/.exec(notice)?.[1];
  expect(path).toBeDefined();
  return path!;
}

function expectDiskWorks(store: LmdbStore): void {
  const cache = new AnswerCache({ maxEntries: 10, store });
  cache.set('k', answer('on disk'));
  expect(cache.stats().diskEnabled).toBe(true);
  expect(store.failure).toBeUndefined();
}

function expectMemoryStillWorks(store: LmdbStore | undefined): void {
  const cache = new AnswerCache({ maxEntries: 10, store });
  cache.set('k', answer('still cached'));
  expect(cache.get('k')).toEqual({ answer: answer('still cached'), tier: 'memory' });
  expect(cache.stats().diskEnabled).toBe(false);
}

const mountable = canMountTmpfs();
const hasPrlimit = (() => {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('opening: data directory faults', () => {
  it('a data dir that cannot be created (a parent is a file) gives a clear problem; memory still works', async () => {
    const file = join(tempDir(), 'not-a-folder');
    writeFileSync(file, 'x');
    const result = await openLmdbStore({ dataDir: join(file, 'xencode') });
    expect(result.store).toBeUndefined();
    expect(result.problem).toMatch(/cannot create its data directory .*not-a-folder\/xencode \(part of that path is a file/);
    expect(result.problem).toMatch(/XENCODE_DATA_DIR/);
    expectMemoryStillWorks(result.store);
  });

  it('a read-only data dir (EACCES) gives a clear problem', async () => {
    let dataDir: string;
    if (isRoot) {
      dataDir = '/sys'; // exists, and even root cannot create files there
    } else {
      dataDir = tempDir();
      chmodSync(dataDir, 0o500);
    }
    const result = await openLmdbStore({ dataDir });
    expect(result.store).toBeUndefined();
    expect(result.problem).toMatch(/cannot write to .*xencode\.lmdb \(permission denied\)\. Make .* writable/);
    expectMemoryStillWorks(result.store);
  });

  it.runIf(isRoot)('a read-only data dir, for an unprivileged process', async () => {
    const dataDir = tempDir();
    chmodSync(dataDir, 0o555);
    const child = await runChild(
      `const { store, problem } = await openLmdbStore({ dataDir: ${JSON.stringify(dataDir)} });
       const cache = new AnswerCache({ maxEntries: 5, store }); cache.set('k', answer('mem'));
       report({ problem, hasStore: !!store, memory: cache.get('k')?.tier });`,
      { uid: 65534, gid: 65534 },
    );
    expect(child.result).toMatchObject({ hasStore: false, memory: 'memory' });
    expect(child.result.problem).toMatch(/cannot write to .*\(permission denied\)/);
  });

  it.runIf(mountable)('a read-only file system (EROFS, real mount)', async () => {
    const dataDir = join(tempDir(), 'ro');
    const child = await runChild(`report(await openLmdbStore({ dataDir: ${JSON.stringify(dataDir)} }));`, {
      wrapper: inTmpfs(dataDir, 256, true),
    });
    expect(child.result?.problem).toMatch(/cannot write to .*\(read-only file system\)/);
  });

  it('maps EROFS and ENOSPC at open to clear messages (for machines that cannot mount)', () => {
    expect(describeStoreProblem({ code: 'EROFS' }, 'open', '/d/xencode.lmdb')).toMatch(/cannot write to \/d\/xencode\.lmdb \(read-only file system\)/);
    expect(describeStoreProblem({ code: 28 }, 'write', '/d/xencode.lmdb')).toMatch(/The disk holding \/d\/xencode\.lmdb is full \(ENOSPC\)/);
    expect(describeStoreProblem({ code: -30792 }, 'write', '/d/xencode.lmdb')).toMatch(/is full \(MDB_MAP_FULL\)/);
    expect(describeStoreProblem({ code: -30796, message: 'MDB_CORRUPTED' }, 'read', '/d/xencode.lmdb')).toMatch(/is damaged/);
  });
});

describe('opening: damaged or foreign files', () => {
  it('garbage bytes in the environment file: moved aside as it was, and a new store opened (lmdb-js segfaults on it)', async () => {
    for (const [probe, garbage] of [[false, Buffer.alloc(64 * 1024, 0x41)], [true, Buffer.from('hello')]] as const) {
      const dataDir = tempDir();
      const file = join(dataDir, ENV_FILE);
      writeFileSync(file, garbage);
      const result = await openLmdbStore({ dataDir, probe });
      expect(result.problem).toBeUndefined();
      opened.push(result.store!);
      const why = garbage.length > 64 ? 'bad magic number' : 'file too short';
      expect(result.notice).toMatch(new RegExp(`xencode\\.lmdb was damaged \\(XENCODE_CORRUPT: not an LMDB file: ${why}\\)\\. Xencode moved it to .*xencode\\.lmdb\\.damaged-`));
      expect(result.notice).toMatch(/the answers cached so far will be asked of the models again, and the feedback recorded so far stays in the moved file/);
      const kept = keptAt(result.notice!);
      expect(readFileSync(kept).equals(garbage)).toBe(true); // kept byte for byte, never deleted
      expect(readdirSync(dataDir).sort()).toEqual([ENV_FILE, `${ENV_FILE}-lock`, `${ENV_FILE}-lock${kept.slice(file.length)}`, basename(kept)].sort());
      expectDiskWorks(result.store!);
    }
  });

  it('a valid header over garbage pages: the probe takes the crash (or the LMDB error), the file is moved aside', async () => {
    const dataDir = await filledStore(300);
    const file = join(dataDir, ENV_FILE);
    const size = statSync(file).size;
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(size - 3 * 4096, 0x41), 0, size - 3 * 4096, 3 * 4096);
    closeSync(fd);
    const damaged = readFileSync(file);
    const result = await openLmdbStore({ dataDir });
    opened.push(result.store!);
    // Which one depends on where the garbage lands: lmdb-js either crashes (SIGBUS/SIGSEGV, here in the probe's
    // process) or reports a missing page.
    expect(result.notice).toMatch(/was damaged \((XENCODE_CORRUPT: opening it crashed a test process \(SIG(BUS|SEGV|ABRT)\)|MDB_[A-Z_]+: .*)\)\. Xencode moved it to/);
    expect(readFileSync(keptAt(result.notice!)).equals(damaged)).toBe(true);
    expectDiskWorks(result.store!);
  });

  it('damage met while in use is noted, and the next start replaces that file (only that file)', async () => {
    const dataDir = await filledStore(20);
    const file = join(dataDir, ENV_FILE);
    const stat = statSync(file);
    noteDamage(file, { dev: stat.dev, ino: stat.ino + 1, size: stat.size }, 'MDB_CORRUPTED: about another file');
    const notAbout = await openLmdbStore({ dataDir, probe: false });
    expect(notAbout.notice).toBeUndefined(); // a note about a file that was replaced since is dropped
    expect(existsSync(`${file}.damage-seen`)).toBe(false);
    await notAbout.store!.close();
    noteDamage(file, { dev: stat.dev, ino: stat.ino, size: stat.size }, 'MDB_BAD_TXN: Transaction must abort');
    const result = await openLmdbStore({ dataDir, probe: false });
    opened.push(result.store!);
    expect(result.notice).toMatch(/was damaged \(XENCODE_CORRUPT: found while in use: MDB_BAD_TXN: Transaction must abort\)\. Xencode moved it to/);
    expect(existsSync(`${file}.damage-seen`)).toBe(false);
    expect(new AnswerCache({ maxEntries: 100, store: result.store }).get('k7')).toBeUndefined(); // a new, empty store
  });

  it('a store that reports damage in use notes it against its own file', async () => {
    const dataDir = await filledStore(5);
    const { store } = await openLmdbStore({ dataDir, probe: false });
    const problems: string[] = [];
    store!.onFailure((m) => problems.push(m));
    // The way lmdb-js reports a damaged page on a read: a numeric MDB code.
    (store as unknown as { fail(err: unknown, phase: string): void }).fail(Object.assign(new Error('MDB_CORRUPTED: Located page was wrong type'), { code: -30796 }), 'read');
    expect(problems[0]).toMatch(/is damaged \(MDB_CORRUPTED: .*\); the disk cache is off for this session\. The next start moves it aside/);
    expect(JSON.parse(readFileSync(join(dataDir, `${ENV_FILE}.damage-seen`), 'utf8'))).toMatchObject({ ino: statSync(join(dataDir, ENV_FILE)).ino });
    await store!.close();
  });

  it('a healthy file passes the probe', async () => {
    const dataDir = await filledStore(50);
    const result = await openLmdbStore({ dataDir });
    expect(result.problem).toBeUndefined();
    opened.push(result.store!);
    expect(new AnswerCache({ maxEntries: 100, store: result.store }).get('k7')?.tier).toBe('disk');
  });

  it('another LMDB data format version: a version-mismatch problem', async () => {
    const dataDir = await filledStore(5);
    const file = join(dataDir, ENV_FILE);
    const bytes = readFileSync(file);
    const pageSize = bytes.readUInt32LE(0x30);
    bytes.writeUInt32LE(3, 0x1c);
    bytes.writeUInt32LE(3, pageSize + 0x1c);
    writeFileSync(file, bytes);
    const result = await openLmdbStore({ dataDir });
    expect(result.problem).toMatch(/was written by an incompatible version \(MDB_VERSION_MISMATCH: LMDB data format 3, expected 2\)/);
    // Another version is not damage: the file stays where it is, as it was.
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(readdirSync(dataDir).sort()).toEqual([ENV_FILE, `${ENV_FILE}-lock`]);
  });

  it('a store layout from a newer Xencode: refused, not misread', async () => {
    const dataDir = tempDir();
    const first = await openLmdbStore({ dataDir, probe: false });
    first.store!.put('meta', 'layout', 99);
    await first.store!.close();
    const result = await openLmdbStore({ dataDir, probe: false });
    expect(result.store).toBeUndefined();
    expect(result.problem).toMatch(/incompatible version \(XENCODE_LAYOUT: store layout 99\)/);
    expect(readdirSync(dataDir).sort()).toEqual([ENV_FILE, `${ENV_FILE}-lock`]);
  });
});

describe('writing: disk full', () => {
  it.runIf(hasPrlimit)('a failing commit is reported once, turns the disk tier off, and memory keeps working', async () => {
    const dataDir = tempDir();
    const { store } = await openLmdbStore({ dataDir, probe: false });
    opened.push(store!);
    const problems: string[] = [];
    const cache = new AnswerCache({ maxEntries: 10_000, store, onProblem: (m) => problems.push(m) });
    cache.set('before', answer('written before the disk filled up'));
    await store!.settled();
    const ignore = () => {};
    process.on('SIGXFSZ', ignore); // past the limit a write fails with EFBIG instead of killing the process
    const limit = statSync(join(dataDir, ENV_FILE)).size;
    execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${limit}:unlimited`]);
    try {
      for (let i = 0; i < 400; i++) cache.set(`k${i}`, answer('x'.repeat(2000)));
      await expect.poll(() => problems.length, { timeout: 10_000 }).toBe(1);
    } finally {
      execFileSync('prlimit', ['--pid', String(process.pid), '--fsize=unlimited:unlimited']);
      process.off('SIGXFSZ', ignore);
    }
    expect(problems[0]).toMatch(/The disk holding .*xencode\.lmdb is full \((EIO|EFBIG|ENOSPC)\); the disk cache is off/);
    expect(store!.failure).toBe(problems[0]);
    expect(cache.stats().diskEnabled).toBe(false);
    // Nothing throws afterwards, the memory tier keeps answering, and no second report comes.
    expect(() => cache.set('after', answer('memory only'))).not.toThrow();
    expect(cache.get('after')?.tier).toBe('memory');
    expect(cache.get('k399')?.tier).toBe('memory');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(problems).toHaveLength(1);
  });

  it.runIf(mountable)('a really full file system (ENOSPC on tmpfs): at open, and while writing', async () => {
    const dataDir = join(tempDir(), 'small');
    const child = await runChild(
      `import { writeFileSync, rmSync } from 'node:fs';
       const dataDir = ${JSON.stringify(dataDir)};
       // Full before we start: refused at open.
       try { writeFileSync(dataDir + '/filler', Buffer.alloc(8 * 1024 * 1024)); } catch {}
       const atOpen = (await openLmdbStore({ dataDir })).problem;
       rmSync(dataDir + '/filler'); rmSync(dataDir + '/xencode.lmdb', { force: true }); rmSync(dataDir + '/xencode.lmdb-lock', { force: true });
       // Fills up while writing.
       const { store } = await openLmdbStore({ dataDir });
       const problems = [];
       const cache = new AnswerCache({ maxEntries: 100000, store, onProblem: (m) => problems.push(m) });
       for (let i = 0; i < 8000 && problems.length === 0; i++) { cache.set('k' + i, answer('y'.repeat(1500))); if (i % 50 === 0) await store.settled(); }
       await new Promise((r) => setTimeout(r, 300));
       cache.set('after', answer('mem'));
       report({ atOpen, problems, memory: cache.get('after')?.tier, diskEnabled: cache.stats().diskEnabled });`,
      { wrapper: inTmpfs(dataDir, 4096) },
    );
    expect(child.signal).toBeNull();
    expect(child.result.atOpen).toMatch(/is full \(ENOSPC\)/);
    expect(child.result.problems).toHaveLength(1);
    expect(child.result.problems[0]).toMatch(/The disk holding .* is full \((EIO|ENOSPC)\)/);
    expect(child.result).toMatchObject({ memory: 'memory', diskEnabled: false });
  });
});
