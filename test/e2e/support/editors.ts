// The real editors the end-to-end tests drive. scripts/fetch-debian.mjs unpacks Debian's packages of them into
// .cache/debian/ (git-ignored) and writes a wrapper per editor in .cache/debian/bin/ that runs it through the
// unpacked glibc loader with the environment it needs; see docs/debian-fetch.md.
//
//   beforeAll(() => { ensureEditors(['nvim-0.12', 'tmux', 'hx']); }, 300_000); // a cold fetch takes ~20-30 s
//   spawn(editorPath('nvim-0.12'), ['--headless', '-u', 'init.lua', file]);
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../../../server/paths.js';

export type EditorName = 'nvim-0.12' | 'nvim-0.10' | 'hx' | 'emacs' | 'tmux';

export const EDITOR_NAMES: readonly EditorName[] = ['nvim-0.12', 'nvim-0.10', 'hx', 'emacs', 'tmux'];

// From the package root (found from this file), so this works through vitest on the .ts and from dist/test/.
export const EDITORS_DIR = join(PACKAGE_ROOT, '.cache', 'debian');
export const EDITORS_BIN = join(EDITORS_DIR, 'bin');
export const FETCH_SCRIPT = join(PACKAGE_ROOT, 'scripts', 'fetch-debian.mjs');

/** A cold fetch of all editors takes 15-30 s; this bounds a stuck apt. */
const FETCH_TIMEOUT_MS = 15 * 60_000;

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** tmux on PATH (not our own wrapper). */
function systemTmux(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || resolve(dir) === EDITORS_BIN) continue;
    const candidate = join(dir, 'tmux');
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function assertName(name: string): asserts name is EditorName {
  if (!(EDITOR_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown editor ${JSON.stringify(name)} (known: ${EDITOR_NAMES.join(', ')})`);
  }
}

/**
 * The absolute path of the editor's wrapper in .cache/debian/bin/ (which may not exist yet: see ensureEditors).
 * tmux: the wrapper when the fetch script wrote one (it execs the system's tmux when there is one), else the
 * system's tmux.
 */
export function editorPath(name: EditorName): string {
  assertName(name);
  const wrapper = join(EDITORS_BIN, name);
  if (name === 'tmux' && !isExecutableFile(wrapper)) return systemTmux() ?? wrapper;
  return wrapper;
}

/** Whether the editor is ready: its wrapper and its stamp (which the fetch script writes last) are there. */
function present(name: EditorName): boolean {
  if (isExecutableFile(join(EDITORS_BIN, name)) && existsSync(join(EDITORS_DIR, 'stamps', `${name}.json`))) return true;
  return name === 'tmux' && systemTmux() !== undefined;
}

/** The editors among `names` that are not ready (fetches nothing). */
export function missingEditors(names: readonly EditorName[] = EDITOR_NAMES): EditorName[] {
  names.forEach(assertName);
  return names.filter((name) => !present(name));
}

/**
 * Makes sure the editors are there, running the fetch script synchronously for the missing ones, and returns their
 * paths. Throws when one is still missing (no Debian mirror, no apt-get, …): in CI a missing editor is a failure,
 * never a skip. Give the hook that calls it a long timeout: a cold fetch takes 15-30 s.
 */
export function ensureEditors<N extends EditorName>(names: readonly N[]): Record<N, string> {
  const missing = missingEditors(names);
  if (missing.length) {
    const args = [FETCH_SCRIPT, '--only', missing.join(',')];
    const res = spawnSync(process.execPath, args, {
      cwd: PACKAGE_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: FETCH_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
    const output = `${res.stderr ?? ''}${res.stdout ?? ''}`.trim();
    const still = missingEditors(missing);
    if (res.error || res.status !== 0 || still.length) {
      const why = res.error
        ? res.error.message
        : res.signal
          ? `killed by ${res.signal}`
          : `exit ${res.status}`;
      throw new Error(
        `editors not available: ${(still.length ? still : missing).join(', ')}.\n` +
          `\`node scripts/fetch-debian.mjs --only ${missing.join(',')}\` failed (${why}). It needs apt-get, ` +
          `dpkg-deb and a Debian mirror in /etc/apt/sources.list{,.d} (or XENCODE_DEBIAN_MIRROR); see ` +
          `docs/debian-fetch.md.\n${output.split('\n').slice(-40).join('\n')}`,
      );
    }
    if (output) process.stderr.write(`${output}\n`);
  }
  return Object.fromEntries(names.map((name) => [name, editorPath(name)])) as Record<N, string>;
}
