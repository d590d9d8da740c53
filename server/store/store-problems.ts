import { constants as osConstants } from 'node:os';
import { basename, join } from 'node:path';

/** Where a store problem happened: creating the folder, opening the file, or reading/writing it later. */
export type Phase = 'dir' | 'open' | 'read' | 'write';

const MDB_CODES: Record<number, string> = {
  [-30797]: 'MDB_PAGE_NOTFOUND', [-30796]: 'MDB_CORRUPTED', [-30795]: 'MDB_PANIC', [-30794]: 'MDB_VERSION_MISMATCH',
  [-30793]: 'MDB_INVALID', [-30792]: 'MDB_MAP_FULL', [-30790]: 'MDB_READERS_FULL', [-30784]: 'MDB_INCOMPATIBLE',
  [-30782]: 'MDB_BAD_TXN', [-30781]: 'MDB_BAD_VALSIZE', [-30780]: 'MDB_BAD_DBI', [-30779]: 'MDB_PROBLEM',
  [-30778]: 'MDB_BAD_CHECKSUM',
};
const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, value]) => [value, name]));

/** Node errors carry string codes, lmdb-js errors numeric ones (errno or MDB_*). One name for both. */
export function errorCodeName(err: unknown): string {
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string') return e.code;
  if (typeof e.code === 'number') return MDB_CODES[e.code] ?? ERRNO_NAMES.get(e.code) ?? String(e.code);
  return /\b(MDB_[A-Z_]+|E[A-Z]{3,})\b/.exec(String(e.message ?? ''))?.[1] ?? 'unknown';
}

export type ProblemKind = 'denied' | 'full' | 'damaged' | 'version' | 'not-a-file' | 'readers';

const KINDS: Record<string, ProblemKind> = {
  EACCES: 'denied', EPERM: 'denied', EROFS: 'denied',
  ENOSPC: 'full', EDQUOT: 'full', EFBIG: 'full', MDB_MAP_FULL: 'full',
  // MDB_INCOMPATIBLE, MDB_BAD_TXN, MDB_BAD_VALSIZE and MDB_PROBLEM come from pages that no longer say what they
  // are (a sub-database record that is not one, an "invalid dupdata" node, "expected node to be branch"):
  // Xencode never misuses the API that way.
  MDB_INVALID: 'damaged', MDB_CORRUPTED: 'damaged', MDB_PAGE_NOTFOUND: 'damaged', MDB_PANIC: 'damaged',
  MDB_BAD_CHECKSUM: 'damaged', MDB_INCOMPATIBLE: 'damaged', MDB_BAD_TXN: 'damaged', MDB_BAD_VALSIZE: 'damaged',
  MDB_BAD_DBI: 'damaged', MDB_PROBLEM: 'damaged', XENCODE_CORRUPT: 'damaged',
  MDB_VERSION_MISMATCH: 'version', XENCODE_LAYOUT: 'version',
  EISDIR: 'not-a-file', ENOTDIR: 'not-a-file', MDB_READERS_FULL: 'readers',
};

export function problemKind(err: unknown, phase: Phase): ProblemKind | undefined {
  const code = errorCodeName(err);
  // A short write is how LMDB reports a file system that filled up mid-commit.
  return code === 'EIO' && phase === 'write' ? 'full' : KINDS[code];
}

export function problemDetail(err: unknown): string {
  const code = errorCodeName(err);
  const message = String((err as Error | undefined)?.message ?? err);
  return message.startsWith(code) ? message : `${code}: ${message}`; // Node's messages start with the code
}

/** A message the user can act on: what failed, where, what to do. Completions keep being cached in memory. */
export function describeStoreProblem(err: unknown, phase: Phase, file: string): string {
  const code = errorCodeName(err);
  const detail = problemDetail(err);
  const dir = join(file, '..');
  const then = 'or set XENCODE_DATA_DIR to another folder, then restart. Completions are cached in memory only until then.';
  const kind = problemKind(err, phase);
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
      if (phase !== 'open') {
        return `${file} is damaged (${detail}); the disk cache is off for this session. The next start moves it aside `
          + 'and starts a new, empty one (it holds cached answers and feedback records). Completions are cached in memory only until then.';
      }
      return `${file} is damaged (${detail}). Move it away or delete it with ${basename(file)}-lock (it holds cached `
        + `answers and feedback records) ${then}`;
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

/** Told once, by the process that moved a damaged file aside and started a new store in its place. */
export function describeReplacement(err: unknown, file: string, keptAt: string): string {
  return `${file} was damaged (${problemDetail(err)}). Xencode moved it to ${keptAt} and started a new, empty store in `
    + 'its place: the answers cached so far will be asked of the models again, and the feedback recorded so far stays '
    + 'in the moved file only (it is kept, not deleted; what still reads from it can be exported with XENCODE_DATA_DIR '
    + 'pointing at a folder holding it as xencode.lmdb).';
}
