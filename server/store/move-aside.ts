import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';

/**
 * What happens to a damaged environment file: it is moved aside so that a fresh one can take its place, and damage
 * a running server meets (an MDB_* error on pages the start-up probe did not reach, e.g. free pages reused by a
 * later write) is noted so that the next start replaces the file without having to find it again. Several Xencode processes may start on
 * one data directory at once and all find the same damage: a marker file created with O_EXCL lets exactly one of
 * them rename, and the renamer first checks that the file is still the one that failed the probe (same inode), so a
 * fresh store another process just made is never moved. Nothing is deleted: both files are renamed.
 */

export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
}

export function identify(path: string): FileIdentity | undefined {
  try {
    const { dev, ino, size } = statSync(path);
    return { dev, ino, size };
  } catch {
    return undefined;
  }
}

export function sameFile(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

export type MoveResult =
  | { moved: string }
  /** Another process replaced the file first (or is doing so): open what is there now. */
  | { raced: true }
  | { error: NodeJS.ErrnoException };

const markerOf = (file: string) => `${file}.replacing`;
/** A marker is held for two renames (milliseconds); one this old belongs to a process that died holding it. */
const STALE_MARKER_MS = 10_000;
const WAIT_MS = 5_000;

/** Renames `file` and `file-lock` to `*.damaged-<time>` if `file` is still `probed`. Never throws. */
export async function moveAside(file: string, probed: FileIdentity, now = new Date()): Promise<MoveResult> {
  const marker = markerOf(file);
  let fd: number;
  try {
    fd = openSync(marker, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return { error: err as NodeJS.ErrnoException };
    await waitWhileReplacing(file);
    return { raced: true };
  }
  try {
    if (!sameFile(identify(file), probed)) return { raced: true };
    const stamp = now.toISOString().replace(/[:.]/g, '-'); // no ':' in file names (macOS Finder, Windows)
    let suffix = `.damaged-${stamp}`;
    for (let n = 2; existsSync(file + suffix); n++) suffix = `.damaged-${stamp}-${n}`;
    const keptAt = file + suffix;
    // The lock file first: a process opening in between then finds the old data file with a new lock file (and
    // its probe the damage), never a new data file paired with the old lock file that live processes still use.
    try {
      renameSync(`${file}-lock`, `${file}-lock${suffix}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return { error: err as NodeJS.ErrnoException };
    }
    renameSync(file, keptAt);
    forgetDamage(file);
    return { moved: keptAt };
  } catch (err) {
    return { error: err as NodeJS.ErrnoException };
  } finally {
    closeSync(fd);
    try {
      unlinkSync(marker);
    } catch {
      /* already gone: nothing to release */
    }
  }
}

/**
 * Waits (bounded) while another process is moving the file aside, so that a process starting during the move does
 * not open the files half-way through it. A marker left by a process that died holding it is removed.
 */
export async function waitWhileReplacing(file: string): Promise<void> {
  const marker = markerOf(file);
  const until = Date.now() + WAIT_MS;
  for (;;) {
    let age: number;
    try {
      age = Date.now() - statSync(marker).mtimeMs;
    } catch {
      return; // no marker: nobody is moving it
    }
    if (age > STALE_MARKER_MS) {
      try {
        unlinkSync(marker);
      } catch {
        /* someone else removed it */
      }
      return;
    }
    if (Date.now() > until) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const noteOf = (file: string) => `${file}.damage-seen`;

/** Remembers that `file` (this very inode) was found damaged while in use. Best effort, never throws. */
export function noteDamage(file: string, identity: FileIdentity, message: string): void {
  try {
    writeFileSync(noteOf(file), JSON.stringify({ dev: identity.dev, ino: identity.ino, message }), { mode: 0o600 });
  } catch {
    /* the disk may be what failed: the next start's probe is still there */
  }
}

/** The damage noted for `file` if the note is about the file there now; a note about a replaced file is dropped. */
export function notedDamage(file: string, identity: FileIdentity): Error | undefined {
  let note: { dev?: unknown; ino?: unknown; message?: unknown };
  try {
    note = JSON.parse(readFileSync(noteOf(file), 'utf8')) as typeof note;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') forgetDamage(file); // unreadable note: no evidence
    return undefined;
  }
  if (note.dev === identity.dev && note.ino === identity.ino) {
    return Object.assign(new Error(`found while in use: ${String(note.message)}`), { code: 'XENCODE_CORRUPT' });
  }
  forgetDamage(file);
  return undefined;
}

function forgetDamage(file: string): void {
  try {
    unlinkSync(noteOf(file));
  } catch {
    /* no note */
  }
}
