#!/usr/bin/env node
// Fetches the real editors the end-to-end tests drive into .cache/editors/ (git-ignored), without installing
// anything: Debian trixie/sid packages resolved with a private apt directory (its own sources, lists, cache and an
// empty dpkg status; the mirror is the one this machine's apt already uses), downloaded with `apt-get download`,
// unpacked with `dpkg-deb -x`, and run through the unpacked glibc loader with --library-path, so that the programs
// an editor starts (the language server) run on the system's own libraries. No root needed.
//
//   node scripts/fetch-editors.mjs                    fetch what is missing, print what there is
//   node scripts/fetch-editors.mjs --only nvim-0.12,hx
//   node scripts/fetch-editors.mjs --check            run each wrapper's version command (fetches nothing)
//   node scripts/fetch-editors.mjs --force            resolve and unpack again even where a stamp exists
//   node scripts/fetch-editors.mjs --fetch-tmux       fetch tmux even when the system has one
//
// Each editor gets an sh wrapper .cache/editors/bin/<name>; a stamp per editor (.cache/editors/stamps/<name>.json)
// records the package versions, and a run with every stamp in place does nothing. XENCODE_DEBIAN_MIRROR=<URI>
// overrides the mirror taken from /etc/apt/sources.list{,.d}. See docs/editors-fetch.md.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(REPO, '.cache', 'editors');
const BIN = join(CACHE, 'bin');
const ROOTS = join(CACHE, 'roots');
const STAMPS = join(CACHE, 'stamps');
const DEBS = join(CACHE, 'debs');
const APT = join(CACHE, 'apt');
/** Bump when the way an editor is unpacked or wrapped changes: every stamp with another recipe is redone. */
const RECIPE = 1;

/**
 * What each editor is. `sources`: Debian suites tried in order, the first whose candidate matches `version` wins
 * (a `-backports` suite is resolved together with its base suite). `kind` selects the wrapper; `weight` (how
 * long it takes to unpack) puts the slowest first.
 */
const EDITORS = {
  'nvim-0.12': { pkg: 'neovim', version: /^0\.12\./, sources: ['sid', 'testing', 'trixie-backports'], kind: 'nvim' },
  'nvim-0.10': { pkg: 'neovim', version: /^0\.10\./, sources: ['trixie'], kind: 'nvim' },
  hx: { pkg: 'hx', version: /^25\./, sources: ['trixie', 'sid'], kind: 'hx' },
  emacs: { pkg: 'emacs-nox', version: /^1:(29|[3-9]\d)\./, sources: ['trixie', 'sid'], kind: 'emacs', weight: 10 },
  tmux: { pkg: 'tmux', version: /^3\./, sources: ['trixie'], kind: 'tmux' },
};
const NAMES = Object.keys(EDITORS);

/** Debian architecture → multiarch triplet (where the unpacked libraries and loader live). */
const TRIPLETS = {
  amd64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
  armhf: 'arm-linux-gnueabihf',
  i386: 'i386-linux-gnu',
  ppc64el: 'powerpc64le-linux-gnu',
  riscv64: 'riscv64-linux-gnu',
  s390x: 's390x-linux-gnu',
};

class FetchError extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// Command line

function usage(code) {
  (code ? process.stderr : process.stdout).write(
    `usage: node scripts/fetch-editors.mjs [--only ${NAMES.join(',')}] [--check] [--force] [--fetch-tmux]\n`,
  );
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { only: NAMES, check: false, force: false, fetchTmux: !!process.env.XENCODE_FETCH_TMUX };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--check') opts.check = true;
    else if (arg === '--force') opts.force = true;
    else if (arg === '--fetch-tmux') opts.fetchTmux = true;
    else if (arg === '--help' || arg === '-h') usage(0);
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      if (!value) usage(2);
      const names = value.split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = names.filter((n) => !NAMES.includes(n));
      if (unknown.length) {
        process.stderr.write(`fetch-editors: unknown editor ${unknown.join(', ')} (known: ${NAMES.join(', ')})\n`);
        process.exit(2);
      }
      opts.only = NAMES.filter((n) => names.includes(n));
    } else {
      process.stderr.write(`fetch-editors: unknown argument ${arg}\n`);
      usage(2);
    }
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

const T0 = Date.now();
const log = (msg) => process.stderr.write(`fetch-editors: [${((Date.now() - T0) / 1000).toFixed(1)} s] ${msg}\n`);

/** Runs a command to its end; returns its stdout, or throws a FetchError with the command's output tail. */
function runSync(cmd, args, { env, cwd, what } = {}) {
  const res = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, LC_ALL: 'C', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.error) {
    const hint = res.error.code === 'ENOENT' ? ` (${cmd} is not installed)` : '';
    throw new FetchError(`${what ?? cmd}: cannot run ${cmd}${hint}: ${res.error.message}`);
  }
  if (res.status !== 0) {
    const out = `${res.stdout}\n${res.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new FetchError(`${what ?? cmd}: ${cmd} ${args.join(' ')} failed (exit ${res.status}):\n${out}`);
  }
  return res.stdout;
}

/** runSync, asynchronous: resolving the next editor and unpacking the previous ones overlap. */
function run(cmd, args, { env, cwd, what } = {}) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, LC_ALL: 'C', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', (err) => {
      const hint = err.code === 'ENOENT' ? ` (${cmd} is not installed)` : '';
      reject(new FetchError(`${what ?? cmd}: cannot run ${cmd}${hint}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolveRun(stdout);
      const out = `${stdout}\n${stderr}`.trim().split('\n').slice(-15).join('\n');
      reject(new FetchError(`${what ?? cmd}: ${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${out}`));
    });
  });
}

function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, cmd);
    try {
      if (statSync(candidate).isFile()) {
        // Not our own wrapper (bin/ on PATH would make tmux find itself).
        if (resolve(dir) !== BIN) return candidate;
      }
    } catch {
      /* not here */
    }
  }
  return undefined;
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Writes a file atomically (temporary name in the same folder, then rename). */
function writeAtomic(file, text, mode = 0o644) {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** A lock folder so that parallel test workers calling ensureEditors fetch once. Returns the release function. */
function lock() {
  mkdirSync(CACHE, { recursive: true });
  const dir = join(CACHE, '.lock');
  const deadline = Date.now() + 20 * 60_000;
  let told = false;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    let pid = 0;
    let age = 0;
    try {
      age = Date.now() - statSync(dir).mtimeMs;
      pid = Number(readFileSync(join(dir, 'pid'), 'utf8')) || 0;
    } catch {
      /* just released, or its pid not written yet */
    }
    let alive = pid > 0 || age < 60_000;
    if (pid > 0) {
      try {
        process.kill(pid, 0);
      } catch (err) {
        alive = err.code === 'EPERM';
      }
    }
    if (!alive) {
      rmSync(dir, { recursive: true, force: true }); // left by a process that died
      continue;
    }
    if (Date.now() > deadline) throw new FetchError(`timed out waiting for ${dir} (remove it if no fetch runs)`);
    if (!told && pid > 0) {
      log(`waiting for another fetch (pid ${pid}) to finish`);
      told = true;
    }
    sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The Debian mirror and the private apt directories

/** Parses apt's one-line and deb822 source files into {types, uris, suites, components, signedBy, trusted}. */
function aptSources() {
  const entries = [];
  const files = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  try {
    for (const f of readdirSync('/etc/apt/sources.list.d').sort()) {
      if (f.endsWith('.list') || f.endsWith('.sources')) files.push(join('/etc/apt/sources.list.d', f));
    }
  } catch {
    /* no folder */
  }
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const fields = {};
        let key;
        for (const line of stanza.split('\n')) {
          if (/^\s*#/.test(line)) continue;
          const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
          if (m) fields[(key = m[1].toLowerCase())] = m[2].trim();
          else if (key && /^\s/.test(line)) fields[key] += `\n${line.trim()}`;
        }
        if (!fields.uris || (fields.enabled ?? 'yes').toLowerCase() === 'no') continue;
        entries.push({
          file,
          types: (fields.types ?? '').split(/\s+/),
          uris: fields.uris.split(/\s+/),
          suites: (fields.suites ?? '').split(/\s+/),
          components: (fields.components ?? '').split(/\s+/),
          signedBy: fields['signed-by'] ?? '',
          trusted: (fields.trusted ?? '').toLowerCase() === 'yes',
        });
      }
    } else {
      for (const line of text.split('\n')) {
        const m = /^\s*(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
        if (!m) continue;
        const options = Object.fromEntries(
          (m[2] ?? '')
            .trim()
            .split(/\s+/)
            .filter(Boolean)
            .map((o) => [o.split('=')[0].toLowerCase(), o.split('=')[1] ?? '']),
        );
        entries.push({
          file,
          types: [m[1]],
          uris: [m[3]],
          suites: [m[4]],
          components: m[5].split(/\s+/),
          signedBy: options['signed-by'] ?? '',
          trusted: options.trusted === 'yes',
        });
      }
    }
  }
  return entries;
}

const DEBIAN_SUITES = new RegExp(
  '^(buster|bullseye|bookworm|trixie|forky|duke|sid|oldoldstable|oldstable|stable|testing|unstable|experimental)' +
    '(-updates|-backports|-proposed-updates)?$',
);

/** The Debian mirror this machine's apt uses (not its security archive, not third-party repositories). */
function debianMirror() {
  const forced = process.env.XENCODE_DEBIAN_MIRROR;
  if (forced) {
    const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
    const keyrings = existsSync(keyring) ? [keyring] : [];
    return { uri: forced, from: 'XENCODE_DEBIAN_MIRROR', keyrings, trusted: false };
  }
  for (const e of aptSources()) {
    if (!e.types.includes('deb') || !e.components.includes('main')) continue;
    if (!e.suites.some((s) => DEBIAN_SUITES.test(s))) continue;
    const uri = e.uris.find((u) => !/security/.test(u) && !u.startsWith('cdrom:'));
    // The keyrings that verify this mirror (a local mirror may re-sign), then Debian's own; not inline keys.
    const keyrings = [...e.signedBy.split(/[\s,]+/), '/usr/share/keyrings/debian-archive-keyring.gpg'].filter(
      (k) => k.startsWith('/') && existsSync(k),
    );
    if (uri) return { uri, from: e.file, keyrings: [...new Set(keyrings)], trusted: e.trusted };
  }
  throw new FetchError(
    'no Debian mirror configured: found no "deb <URI> <suite> main" entry for a Debian suite in ' +
      '/etc/apt/sources.list or /etc/apt/sources.list.d/*.{list,sources}. ' +
      'Configure apt, or set XENCODE_DEBIAN_MIRROR to a Debian mirror URI.',
  );
}

/** The network-related settings of the system's apt (proxies, timeouts, TLS, validity checks), carried over. */
function systemAcquireSettings() {
  let dump = '';
  try {
    dump = runSync('apt-config', ['dump'], { env: { APT_CONFIG: '' }, what: 'apt-config' });
  } catch {
    return '';
  }
  const keep = new RegExp(
    '^Acquire::(http|https|ftp|socks|Retries|Check-Valid-Until|Check-Date|Max-ValidTime|Min-ValidTime|' +
      'ForceIPv4|ForceIPv6|AllowInsecureRepositories|AllowWeakRepositories)\\b',
  );
  return dump
    .split('\n')
    .filter((l) => keep.test(l))
    .join('\n');
}

const debArch = () => runSync('dpkg', ['--print-architecture'], { what: 'dpkg' }).trim();

/**
 * A private apt setup for a set of suites: its own sources, lists, cache and an empty dpkg status; none of the
 * system's apt.conf.d (no hooks, pins or extra index targets), except its network settings.
 */
class PrivateApt {
  constructor(suites, ctx) {
    this.suites = suites;
    this.ctx = ctx;
    this.dir = join(APT, suites.join('+'));
  }

  setup() {
    const d = this.dir;
    for (const sub of ['sources', 'parts', 'lists/partial', 'cache/archives/partial']) {
      mkdirSync(join(d, sub), { recursive: true });
    }
    writeFileSync(join(d, 'status'), '');
    writeFileSync(join(d, 'empty'), '');
    const { uri, keyrings, trusted } = this.ctx.mirror;
    writeFileSync(
      join(d, 'sources', 'debian.sources'),
      [
        'Types: deb',
        `URIs: ${uri}`,
        `Suites: ${this.suites.join(' ')}`,
        'Components: main',
        // No keyring: apt falls back to /etc/apt/trusted.gpg.d (which holds Debian's keys on Debian).
        ...(keyrings.length ? [`Signed-By: ${keyrings.join(',')}`] : []),
        ...(trusted ? ['Trusted: yes'] : []),
        '',
      ].join('\n'),
    );
    const q = (s) => JSON.stringify(s);
    const conf = [
      `Dir::Etc::Parts ${q(join(d, 'parts'))};`,
      `Dir::Etc::main ${q(join(d, 'empty'))};`,
      `Dir::Etc::SourceList "/dev/null";`,
      `Dir::Etc::SourceParts ${q(join(d, 'sources'))};`,
      `Dir::Etc::Preferences ${q(join(d, 'empty'))};`,
      `Dir::Etc::PreferencesParts ${q(join(d, 'parts'))};`,
      `Dir::State ${q(d)};`,
      `Dir::State::Lists ${q(join(d, 'lists'))};`,
      `Dir::State::status ${q(join(d, 'status'))};`,
      `Dir::Cache ${q(join(d, 'cache'))};`,
      `Dir::Cache::archives ${q(join(d, 'cache', 'archives'))};`,
      `Dir::Cache::pkgcache ${q(join(d, 'cache', 'pkgcache.bin'))};`,
      'Dir::Cache::srcpkgcache "";',
      `Dir::Log ${q(join(d, 'log'))};`,
      `APT::Architecture ${q(this.ctx.arch)};`,
      `APT::Architectures { ${q(this.ctx.arch)}; };`,
      'APT::Install-Recommends "false";',
      'APT::Install-Suggests "false";',
      'Acquire::Languages "none";',
      'Acquire::GzipIndexes "true";',
      // As root apt would download as _apt, which may not write here; as any other user it does not switch.
      ...(process.getuid?.() === 0 ? ['APT::Sandbox::User "root";'] : []),
      this.ctx.acquire,
      '',
    ].join('\n');
    writeFileSync(join(d, 'apt.conf'), conf);
    this.env = { APT_CONFIG: join(d, 'apt.conf') };
  }

  /** apt-get update, once per run (a failure too is remembered: the next editor does not wait for it again). */
  update() {
    this.updating ??= (async () => {
      this.setup();
      log(`apt-get update (${this.suites.join(' ')})`);
      const what = `apt-get update of ${this.suites.join('+')} from ${this.ctx.mirror.uri} (${this.ctx.mirror.from})`;
      try {
        // --error-on=any: without it an unreachable mirror is only a warning (exit 0, old or no lists used).
        await run('apt-get', ['update', '--error-on=any'], { env: this.env, what });
      } catch (err) {
        if (!(err instanceof FetchError)) throw err;
        const lines = err.message.split('\n').filter((l) => /^(Err:|E:|W:)|^\s+\S/.test(l));
        const shown = (lines.length ? lines : [err.message]).map((l) => l.trim());
        throw new FetchError(`${what} failed:\n    ${shown.join('\n    ')}`);
      }
    })();
    return this.updating;
  }

  /** The packages `apt-get install` would unpack on an empty system: [{name, version, arch}]. */
  async resolve(spec) {
    const out = await run('apt-get', ['install', '-s', '--no-install-recommends', spec], {
      env: this.env,
      what: `resolving ${spec}`,
    });
    const pkgs = [];
    for (const line of out.split('\n')) {
      const m = /^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) .*\[([^\]]+)\]\)/.exec(line);
      if (m) pkgs.push({ name: m[1], version: m[2], arch: m[3] });
    }
    return pkgs;
  }

  /** Downloads what is not in DEBS yet; returns the .deb paths, in the order given. */
  async download(pkgs) {
    mkdirSync(DEBS, { recursive: true });
    const file = (p) => join(DEBS, `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`);
    const missing = pkgs.filter((p) => !existsSync(file(p)));
    if (missing.length) {
      log(`downloading ${missing.length} packages`);
      const partial = join(DEBS, `partial-${process.pid}`);
      rmSync(partial, { recursive: true, force: true });
      mkdirSync(partial);
      try {
        await run('apt-get', ['download', ...missing.map((p) => `${p.name}=${p.version}`)], {
          env: this.env,
          cwd: partial,
          what: 'apt-get download',
        });
        for (const p of missing) {
          const got = join(partial, basename(file(p)));
          if (!existsSync(got)) throw new FetchError(`apt-get download did not produce ${basename(got)}`);
          renameSync(got, file(p));
        }
      } finally {
        rmSync(partial, { recursive: true, force: true });
      }
    }
    return pkgs.map(file);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Unpacking and wrappers

/** Where the unpacked root keeps its libraries and its loader. */
function layout(root, arch) {
  const triplet = TRIPLETS[arch];
  if (!triplet) throw new FetchError(`unsupported architecture ${arch}`);
  const libDirs = [join('usr', 'lib', triplet), join('lib', triplet)].filter((d) => existsSync(join(root, d)));
  let loader;
  for (const d of libDirs) {
    const f = readdirSync(join(root, d)).find((n) => /^ld-linux.*\.so\.\d+$|^ld64\.so\.\d+$/.test(n));
    if (f) {
      loader = join(d, f);
      break;
    }
  }
  if (!loader) throw new FetchError(`no glibc loader (ld-linux*.so.*) in the unpacked ${root}`);
  return { triplet, libDirs, loader };
}

function shQuote(s) {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The wrapper: finds its root relative to itself (the cache can move), sets the editor's environment and execs the
 * binary through the unpacked loader. --library-path (not LD_LIBRARY_PATH) so children use the system libraries.
 */
function wrapperScript(name, info, { loader, libDirs, env, binary }) {
  const lines = [
    '#!/bin/sh',
    `# ${name}: ${info}`,
    '# Generated by scripts/fetch-editors.mjs. Runs the unpacked binary through the unpacked glibc loader with',
    '# --library-path (not LD_LIBRARY_PATH), so the programs it starts (the language server) use the',
    "# system's libraries.",
    `R=$(readlink -f -- "$(dirname -- "$(readlink -f -- "$0")")/../roots/${name}") || exit 127`,
  ];
  for (const [k, v] of Object.entries(env)) lines.push(`${k}=${v}`, `export ${k}`);
  const libPath = libDirs.map((d) => `$R/${d}`).join(':');
  lines.push(`exec "$R/${loader}" --library-path "${libPath}" "$R/${binary}" "$@"`, '');
  return lines.join('\n');
}

/** Editor-specific finishing of an unpacked root; returns what the wrapper needs. */
function prepare(kind, root, arch) {
  const lay = layout(root, arch);
  const need = (rel) => {
    if (!existsSync(join(root, rel))) throw new FetchError(`${kind}: ${rel} is missing from the unpacked packages`);
    return rel;
  };
  switch (kind) {
    case 'nvim': {
      // Neovim derives its lib dir (parser/*.so) from its executable, which is the loader: a copy of the loader
      // in usr/bin makes that usr/lib/nvim, as in a normal install (and v:progpath a path inside the root).
      const loader = join('usr', 'bin', 'ld.so');
      copyFileSync(join(root, lay.loader), join(root, loader));
      chmodSync(join(root, loader), 0o755);
      return {
        ...lay,
        loader,
        binary: need('usr/bin/nvim'),
        env: {
          VIMRUNTIME: `"$R/${need('usr/share/nvim/runtime')}"`,
          LUA_CPATH: `"$R/usr/lib/${lay.triplet}/lua/5.1/?.so;;"`,
        },
      };
    }
    case 'hx':
      return { ...lay, binary: need('usr/lib/hx/hx'), env: { HELIX_RUNTIME: `"$R/${need('usr/lib/hx/runtime')}"` } };
    case 'emacs': {
      const versions = readdirSync(join(root, 'usr/share/emacs')).filter((v) => /^\d+\.\d+/.test(v));
      if (versions.length !== 1) {
        throw new FetchError(`emacs: expected one usr/share/emacs/<version>, found ${versions.join(', ') || 'none'}`);
      }
      const v = versions[0];
      const libexec = need(`usr/libexec/emacs/${v}/${lay.triplet}`);
      // Emacs looks for its dump next to its executable (<name>.pdmp) or in the compiled-in /usr/libexec path.
      const pdmp = readdirSync(join(root, libexec)).find((f) => f.endsWith('.pdmp'));
      if (!pdmp) throw new FetchError(`emacs: no .pdmp file in ${libexec}`);
      const link = join(root, 'usr/bin/emacs-nox.pdmp');
      rmSync(link, { force: true });
      symlinkSync(relative(join(root, 'usr/bin'), join(root, libexec, pdmp)), link);
      return {
        ...lay,
        binary: need('usr/bin/emacs-nox'),
        env: {
          EMACSLOADPATH: `"$R/${need(`usr/share/emacs/${v}/lisp`)}"`,
          EMACSDATA: `"$R/${need(`usr/share/emacs/${v}/etc`)}"`,
          EMACSDOC: `"$R/usr/share/emacs/${v}/etc"`,
          EMACSPATH: `"$R/${libexec}"`,
        },
      };
    }
    case 'tmux':
      return { ...lay, binary: need('usr/bin/tmux'), env: {} };
    default:
      throw new Error(kind);
  }
}

/**
 * Unpacks the .debs (in apt's order, one after the other: a file two packages ship ends up as dpkg would leave it)
 * into a fresh root, finishes it, then swaps it in for the old one.
 */
async function unpack(name, kind, debs, arch) {
  mkdirSync(ROOTS, { recursive: true });
  const root = join(ROOTS, name);
  const tmp = join(ROOTS, `.${name}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  log(`${name}: unpacking ${debs.length} packages`);
  try {
    for (const deb of debs) await run('dpkg-deb', ['-x', deb, tmp], { what: `unpacking ${basename(deb)}` });
    const how = prepare(kind, tmp, arch);
    rmSync(root, { recursive: true, force: true });
    renameSync(tmp, root);
    return how;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Stamps

const stampFile = (name) => join(STAMPS, `${name}.json`);

/** The stamp when the editor is in place and was made by this recipe, else undefined. */
function currentStamp(name, opts) {
  const stamp = readJson(stampFile(name));
  if (!stamp || stamp.recipe !== RECIPE || !existsSync(join(BIN, name))) return undefined;
  if (stamp.source === 'system') {
    if (name === 'tmux' && opts.fetchTmux) return undefined;
    return existsSync(stamp.path) ? stamp : undefined;
  }
  if (name === 'tmux' && !opts.fetchTmux && which('tmux')) return undefined; // switch to the system's tmux
  return existsSync(join(ROOTS, name, stamp.binary)) ? stamp : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Fetching

/** Resolves and downloads an editor's packages: the plan for unpacking it. */
async function planEditor(name, ctx) {
  const spec = EDITORS[name];
  const reasons = [];
  for (const suite of spec.sources) {
    const suites = suite.endsWith('-backports') ? [suite.replace(/-backports$/, ''), suite] : [suite];
    const key = suites.join('+');
    let apt = ctx.apts.get(key);
    if (!apt) ctx.apts.set(key, (apt = new PrivateApt(suites, ctx)));
    let pkgs;
    try {
      await apt.update();
      pkgs = await apt.resolve(suites.length > 1 ? `${spec.pkg}/${suite}` : spec.pkg);
    } catch (err) {
      if (!(err instanceof FetchError)) throw err;
      reasons.push(`${suite}: ${err.message}`);
      continue;
    }
    const main = pkgs.find((p) => p.name === spec.pkg);
    if (!main) {
      reasons.push(`${suite}: apt would not install ${spec.pkg}`);
      continue;
    }
    if (!spec.version.test(main.version)) {
      reasons.push(`${suite}: ${spec.pkg} is ${main.version}, not ${spec.version}`);
      continue;
    }
    log(`${name}: ${spec.pkg} ${main.version} from ${suite}, ${pkgs.length} packages`);
    return { name, spec, suite, version: main.version, pkgs, debs: await apt.download(pkgs) };
  }
  throw new FetchError(`${name}: cannot fetch ${spec.pkg} matching ${spec.version}:\n  ${reasons.join('\n  ')}`);
}

/** Unpacks a planned editor, writes its wrapper, then its stamp (last: a stamp means the editor is complete). */
async function install(plan, arch) {
  const { name, spec, suite, version, pkgs, debs } = plan;
  const how = await unpack(name, spec.kind, debs, arch);
  writeAtomic(join(BIN, name), wrapperScript(name, `${spec.pkg} ${version} (Debian ${suite})`, how), 0o755);
  const stamp = {
    recipe: RECIPE,
    editor: name,
    source: 'debian',
    suite,
    package: spec.pkg,
    version,
    binary: how.binary,
    packages: pkgs.map((p) => `${p.name}=${p.version}`),
    debs: debs.map((d) => basename(d)),
  };
  writeAtomic(stampFile(name), `${JSON.stringify(stamp, null, 2)}\n`);
  return stamp;
}

/** Runs the tasks given to it at most `limit` at a time. */
function limiter(limit) {
  let running = 0;
  const waiting = [];
  const next = () => {
    if (running >= limit || !waiting.length) return;
    running++;
    const { task, resolveTask, rejectTask } = waiting.shift();
    task()
      .then(resolveTask, rejectTask)
      .finally(() => {
        running--;
        next();
      });
  };
  return (task) =>
    new Promise((resolveTask, rejectTask) => {
      waiting.push({ task, resolveTask, rejectTask });
      next();
    });
}

function useSystemTmux(path) {
  const version = runSync(path, ['-V'], { what: 'tmux -V' }).trim();
  writeAtomic(
    join(BIN, 'tmux'),
    `#!/bin/sh\n# tmux: the system's ${version} (scripts/fetch-editors.mjs)\nexec ${shQuote(path)} "$@"\n`,
    0o755,
  );
  const stamp = { recipe: RECIPE, editor: 'tmux', source: 'system', path, version: version.replace(/^tmux /, '') };
  writeAtomic(stampFile('tmux'), `${JSON.stringify(stamp, null, 2)}\n`);
  return stamp;
}

/** Removes .debs no stamp refers to (old versions), roots no stamp vouches for and leftovers of killed runs. */
function prune() {
  const keep = new Set();
  for (const name of NAMES) for (const d of readJson(stampFile(name))?.debs ?? []) keep.add(d);
  if (existsSync(DEBS)) {
    for (const f of readdirSync(DEBS)) if (!keep.has(f)) rmSync(join(DEBS, f), { recursive: true, force: true });
  }
  if (existsSync(ROOTS)) {
    for (const f of readdirSync(ROOTS)) {
      if (!(NAMES.includes(f) && readJson(stampFile(f))?.source === 'debian')) {
        rmSync(join(ROOTS, f), { recursive: true, force: true });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Check and report

const VERSION_COMMANDS = {
  nvim: ['--version'],
  hx: ['--version'],
  emacs: [
    '--batch',
    '--eval',
    '(if (require (quote eglot) nil t) (princ (concat "GNU Emacs " emacs-version ", eglot built in"))' +
      ' (princ "no eglot") (kill-emacs 1))',
  ],
  tmux: ['-V'],
};

function check(names) {
  let failed = 0;
  const rows = [];
  for (const name of names) {
    const wrapper = join(BIN, name);
    if (!existsSync(wrapper)) {
      rows.push([name, 'MISSING (run node scripts/fetch-editors.mjs)', wrapper]);
      failed++;
      continue;
    }
    const started = Date.now();
    const res = spawnSync(wrapper, VERSION_COMMANDS[EDITORS[name].kind], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    const first = `${res.stdout ?? ''}`.trim().split('\n')[0] ?? '';
    if (res.status !== 0 || !first) {
      const why = `${res.stderr ?? res.error?.message ?? ''}`.trim().split('\n').pop();
      rows.push([name, `FAILED (${res.status ?? res.signal ?? res.error?.code}): ${why}`, wrapper]);
      failed++;
    } else rows.push([name, `${first} (${Date.now() - started} ms)`, wrapper]);
  }
  table(rows);
  return failed;
}

function table(rows) {
  const all = [['editor', 'version', 'wrapper'], ...rows];
  const w = [0, 1].map((i) => Math.max(...all.map((r) => r[i].length)));
  for (const r of all) process.stdout.write(`${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2]}\n`);
}

function describe(stamp) {
  return stamp.source === 'system'
    ? `tmux ${stamp.version} (system ${stamp.path})`
    : `${stamp.package} ${stamp.version} (Debian ${stamp.suite})`;
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.check) process.exit(check(opts.only) ? 1 : 0);

  const stamps = new Map();
  const todo = [];
  for (const name of opts.only) {
    const stamp = opts.force ? undefined : currentStamp(name, opts);
    if (stamp) stamps.set(name, stamp);
    else todo.push(name);
  }

  const failures = [];
  if (todo.length) {
    const release = lock();
    try {
      const started = Date.now();
      let ctx;
      const limit = limiter(Math.max(1, Math.min(4, availableParallelism())));
      const installs = [];
      // The biggest first, so that its unpacking overlaps with resolving and downloading the others.
      for (const name of [...todo].sort((a, b) => (EDITORS[b].weight ?? 0) - (EDITORS[a].weight ?? 0))) {
        // Another process may have fetched it while we waited for the lock.
        const stamp = opts.force ? undefined : currentStamp(name, opts);
        if (stamp) {
          stamps.set(name, stamp);
          continue;
        }
        const systemTmux = name === 'tmux' && !opts.fetchTmux ? which('tmux') : undefined;
        if (systemTmux) {
          stamps.set(name, useSystemTmux(systemTmux));
          continue;
        }
        ctx ??= { mirror: debianMirror(), arch: debArch(), acquire: systemAcquireSettings(), apts: new Map() };
        let plan;
        try {
          plan = await planEditor(name, ctx);
        } catch (err) {
          if (!(err instanceof FetchError)) throw err;
          failures.push(err.message);
          continue;
        }
        installs.push(
          limit(() => install(plan, ctx.arch)).then(
            (stamp) => stamps.set(name, stamp),
            (err) => {
              if (!(err instanceof FetchError)) throw err;
              failures.push(`${name}: ${err.message}`);
            },
          ),
        );
      }
      await Promise.all(installs);
      prune();
      // The package cache is rebuilt after every update; the lists are kept (apt re-fetches only what changed).
      for (const apt of ctx?.apts.values() ?? []) rmSync(join(apt.dir, 'cache', 'pkgcache.bin'), { force: true });
      log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      release();
    }
  }

  table(opts.only.map((name) => [name, stamps.has(name) ? describe(stamps.get(name)) : 'MISSING', join(BIN, name)]));
  if (failures.length) {
    process.stderr.write(`fetch-editors: could not fetch everything:\n${failures.join('\n')}\n`);
    process.exit(1);
  }
}

try {
  await main();
} catch (err) {
  if (!(err instanceof FetchError)) throw err;
  process.stderr.write(`fetch-editors: ${err.message}\n`);
  process.exit(1);
}
