import { closeSync, constants as fsConstants, mkdirSync, openSync, readSync, statfsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * Where Xencode keeps its data (the LMDB environment: answer cache, later feedback and model statistics).
 * Public contract (DESIGN.md): `XENCODE_DATA_DIR`, else `$XDG_DATA_HOME/xencode`, else `~/.local/share/xencode`.
 */
export function resolveDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir();
  const explicit = env.XENCODE_DATA_DIR?.trim();
  if (explicit) {
    // Editors pass settings through without a shell, so a literal "~/" would otherwise become a folder named "~".
    const expanded = explicit === '~' ? home : explicit.startsWith('~/') ? join(home, explicit.slice(2)) : explicit;
    return resolve(expanded);
  }
  const xdg = env.XDG_DATA_HOME?.trim();
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  if (xdg && isAbsolute(xdg)) return join(xdg, 'xencode');
  return join(home, '.local', 'share', 'xencode');
}

export type EnsureDirResult = { ok: true; created: boolean } | { ok: false; error: NodeJS.ErrnoException };

/**
 * Creates `dir` and its missing parents, one level at a time, and never throws.
 *
 * Why not `mkdirSync(dir, { recursive: true })`: on Node 20 it loops forever on pseudo file systems that answer
 * ENOENT to mkdir (e.g. `/proc/xencode`), and lmdb-js calls exactly that when the folder is missing. Walking up to
 * the first existing ancestor and creating each level ourselves turns every failure into an error we can explain.
 */
export function ensureDataDir(dir: string): EnsureDirResult {
  const missing: string[] = [];
  let current = resolve(dir);
  for (;;) {
    try {
      const stat = statSync(current);
      if (!stat.isDirectory()) return { ok: false, error: errnoError('ENOTDIR', `not a directory: ${current}`, current) };
      break;
    } catch (err) {
      const error = err as NodeJS.ErrnoException;
      if (error.code !== 'ENOENT') return { ok: false, error };
      missing.push(current);
      const parent = dirname(current);
      if (parent === current) return { ok: false, error };
      current = parent;
    }
  }
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level, { mode: 0o700 }); // cache + preference data: private to the user
    } catch (err) {
      const error = err as NodeJS.ErrnoException;
      if (error.code === 'EEXIST') continue; // another Xencode process created it at the same moment
      return { ok: false, error };
    }
  }
  return { ok: true, created: missing.length > 0 };
}

/**
 * Checks, without LMDB, that the environment file and its lock file can be opened for writing (creating them empty
 * if missing: EACCES, EROFS, EISDIR, ENOSPC then come from Node with a clear code), that the disk has room, and that
 * a non-empty file has LMDB's header. Returns the first problem as an error with a `code`, or undefined.
 */
export function checkEnvFiles(file: string): NodeJS.ErrnoException | undefined {
  for (const path of [file, `${file}-lock`]) {
    try {
      closeSync(openSync(path, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600));
    } catch (err) {
      return err as NodeJS.ErrnoException;
    }
  }
  if (diskIsFull(file)) return Object.assign(new Error('no space left on the device'), { code: 'ENOSPC' });
  return checkHeader(file);
}

function diskIsFull(file: string): boolean {
  try {
    const fs = statfsSync(dirname(file));
    return fs.bavail * fs.bsize < 1024 * 1024; // LMDB needs a few pages to open; writes need more
  } catch {
    return false; // statfs unsupported here: let LMDB find out
  }
}

/**
 * Checks the two meta pages (LMDB data format 2, as lmdb-js 3.x prebuilt binaries write it: 24-byte page header,
 * meta magic 0xBEEFC0DE, format version, page size). An empty file is fine: LMDB initialises it. This must happen
 * before lmdb-js sees the file: on a bad header it does not throw MDB_INVALID but segfaults (it frees its
 * environment twice on that failure path), taking the whole server down.
 */
function checkHeader(file: string): NodeJS.ErrnoException | undefined {
  const size = statSync(file).size;
  if (size === 0) return undefined;
  const corrupt = (why: string) => Object.assign(new Error(`not an LMDB file: ${why}`), { code: 'XENCODE_CORRUPT' });
  const fd = openSync(file, 'r');
  try {
    const page0 = Buffer.alloc(64);
    if (readSync(fd, page0, 0, 64, 0) < 64) return corrupt('file too short');
    const pageSize = page0.readUInt32LE(0x30);
    if (page0.readUInt32LE(0x18) !== 0xbeefc0de) {
      return page0.readUInt32LE(0x10) === 0xbeefc0de
        ? Object.assign(new Error('LMDB data format 1, expected 2'), { code: 'MDB_VERSION_MISMATCH' })
        : corrupt('bad magic number');
    }
    const version = page0.readUInt32LE(0x1c) & 0xffff;
    if (version !== 2) return Object.assign(new Error(`LMDB data format ${version}, expected 2`), { code: 'MDB_VERSION_MISMATCH' });
    if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return corrupt(`page size ${pageSize}`);
    if (size < 2 * pageSize) return corrupt('file truncated');
    const page1 = Buffer.alloc(64);
    readSync(fd, page1, 0, 64, pageSize);
    if (page1.readUInt32LE(0x18) !== 0xbeefc0de) return corrupt('second meta page damaged');
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function errnoError(code: string, message: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code, path });
}
