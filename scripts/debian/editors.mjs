// The editors the end-to-end tests drive, as package sets of scripts/fetch-debian.mjs: which Debian package, from
// which suites, and how each is finished after unpacking (the environment its wrapper sets, and traps).
import { chmodSync, copyFileSync, existsSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FetchError } from './util.mjs';

/** A path that must exist in the unpacked root. */
function need(set, root, rel) {
  if (!existsSync(join(root, rel))) throw new FetchError(`${set}: ${rel} is missing from the unpacked packages`);
  return rel;
}

/** One wrapper named after the set, through the root's loader; its binary's libraries are checked. */
const single = (name, lay, binary, env, loader = lay.loader) => ({
  loader,
  libDirs: lay.libDirs,
  wrappers: [{ name, binary, env }],
  libraries: [binary],
});

function neovim(name, root, lay) {
  // Neovim derives its lib dir (parser/*.so) from its executable, which is the loader: a copy of the loader in
  // usr/bin makes that usr/lib/nvim, as in a normal install (and v:progpath a path inside the root).
  const loader = join('usr', 'bin', 'ld.so');
  copyFileSync(join(root, lay.loader), join(root, loader));
  chmodSync(join(root, loader), 0o755);
  const env = {
    VIMRUNTIME: `"$R/${need(name, root, 'usr/share/nvim/runtime')}"`,
    LUA_CPATH: `"$R/usr/lib/${lay.triplet}/lua/5.1/?.so;;"`,
  };
  return single(name, lay, need(name, root, 'usr/bin/nvim'), env, loader);
}

function helix(name, root, lay) {
  const env = { HELIX_RUNTIME: `"$R/${need(name, root, 'usr/lib/hx/runtime')}"` };
  return single(name, lay, need(name, root, 'usr/lib/hx/hx'), env);
}

function emacs(name, root, lay) {
  const versions = readdirSync(join(root, 'usr/share/emacs')).filter((v) => /^\d+\.\d+/.test(v));
  if (versions.length !== 1) {
    throw new FetchError(`${name}: expected one usr/share/emacs/<version>, found ${versions.join(', ') || 'none'}`);
  }
  const v = versions[0];
  const libexec = need(name, root, `usr/libexec/emacs/${v}/${lay.triplet}`);
  // Emacs looks for its dump next to its executable (<name>.pdmp) or in the compiled-in /usr/libexec path.
  const pdmp = readdirSync(join(root, libexec)).find((f) => f.endsWith('.pdmp'));
  if (!pdmp) throw new FetchError(`${name}: no .pdmp file in ${libexec}`);
  const link = join(root, 'usr/bin/emacs-nox.pdmp');
  rmSync(link, { force: true });
  symlinkSync(relative(join(root, 'usr/bin'), join(root, libexec, pdmp)), link);
  const env = {
    EMACSLOADPATH: `"$R/${need(name, root, `usr/share/emacs/${v}/lisp`)}"`,
    EMACSDATA: `"$R/${need(name, root, `usr/share/emacs/${v}/etc`)}"`,
    EMACSDOC: `"$R/usr/share/emacs/${v}/etc"`,
    EMACSPATH: `"$R/${libexec}"`,
  };
  return single(name, lay, need(name, root, 'usr/bin/emacs-nox'), env);
}

const tmux = (name, root, lay) => single(name, lay, need(name, root, 'usr/bin/tmux'), {});

const nvimVersion = { args: ['--version'] };

/**
 * Each editor: `pkg` (resolved with its dependencies, as `apt-get install` would on an empty system); `sources`:
 * suites tried in order, the first whose candidate matches `version` wins (a `-backports` suite is resolved together
 * with its base suite); `weight` (how long it takes to unpack) puts the slowest first; `check`: the command that
 * shows the version. tmux: the system's is used when it has one (see fetch-debian.mjs).
 */
export const EDITOR_SETS = {
  'nvim-0.12': {
    pkg: 'neovim', version: /^0\.12\./, sources: ['sid', 'testing', 'trixie-backports'], prepare: neovim, check: [nvimVersion],
  },
  'nvim-0.10': { pkg: 'neovim', version: /^0\.10\./, sources: ['trixie'], prepare: neovim, check: [nvimVersion] },
  hx: { pkg: 'hx', version: /^25\./, sources: ['trixie', 'sid'], prepare: helix, check: [{ args: ['--version'] }] },
  emacs: {
    pkg: 'emacs-nox',
    version: /^1:(29|[3-9]\d)\./,
    sources: ['trixie', 'sid'],
    weight: 10,
    prepare: emacs,
    check: [
      {
        args: [
          '--batch',
          '--eval',
          '(if (require (quote eglot) nil t) (princ (concat "GNU Emacs " emacs-version ", eglot built in"))' +
            ' (princ "no eglot") (kill-emacs 1))',
        ],
      },
    ],
  },
  tmux: { pkg: 'tmux', version: /^3\./, sources: ['trixie'], prepare: tmux, check: [{ args: ['-V'] }] },
};
