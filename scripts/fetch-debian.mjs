#!/usr/bin/env node
// Fetches the real programs the tests run into .cache/debian/ (git-ignored), without installing anything: Debian
// packages resolved with a private apt directory (its own sources, lists, cache and an empty dpkg status; the mirror
// is the one this machine's apt already uses), downloaded with `apt-get download`, unpacked with `dpkg-deb -x`, and
// run through the unpacked glibc loader with --library-path, so that the programs they start (a language server)
// run on the system's own libraries. No root needed. Package sets: the editors the e2e tests drive, llama.cpp
// (the inference engine of the `llama` tests) and torch (Python with PyTorch and transformers, for the `training` tests).
//
//   node scripts/fetch-debian.mjs                    fetch every set that is missing, print what there is
//   node scripts/fetch-debian.mjs --only nvim-0.12,hx
//   node scripts/fetch-debian.mjs --only llama.cpp   .cache/debian/bin/llama-server, ggml-rpc-server, llama-*
//   node scripts/fetch-debian.mjs --only torch       .cache/debian/bin/python3 (torch, transformers, safetensors, gguf)
//   node scripts/fetch-debian.mjs --check            run each wrapper's version command (fetches nothing)
//   node scripts/fetch-debian.mjs --force            resolve and unpack again even where a stamp exists
//   node scripts/fetch-debian.mjs --fetch-tmux       fetch tmux even when the system has one
//
// Each set gets sh wrappers in .cache/debian/bin/ and a stamp (.cache/debian/stamps/<set>.json) with the package
// versions; a run with every stamp in place does nothing. XENCODE_DEBIAN_MIRROR=<URI> overrides the mirror taken
// from /etc/apt/sources.list{,.d}. See docs/debian-fetch.md.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { EDITOR_SETS } from './debian/editors.mjs';
import { LLAMA_SETS } from './debian/llama.mjs';
import { TORCH_SETS } from './debian/torch.mjs';
import { BIN, CACHE, DEBS, FetchError, REPO, ROOTS, STAMPS, limiter, lock, log, readJson, runSync, shQuote, which, writeAtomic } from './debian/util.mjs';

/** Bump when the way a set is unpacked or wrapped changes: every stamp with another recipe is redone. */
const RECIPE = 1;
const SETS = { ...EDITOR_SETS, ...LLAMA_SETS, ...TORCH_SETS };
const NAMES = Object.keys(SETS);
// Loaded only when there is something to fetch: a warm run reads the stamps and nothing else.
let apt;
let unpack;

// ---------------------------------------------------------------------------------------------------------------
// Command line

function usage(code) {
  (code ? process.stderr : process.stdout).write(
    `usage: node scripts/fetch-debian.mjs [--only ${NAMES.join(',')}] [--check] [--force] [--fetch-tmux]\n` +
      '  without --only: every set (the editors of the e2e tests, llama.cpp and torch)\n',
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
        process.stderr.write(`fetch-debian: unknown set ${unknown.join(', ')} (known: ${NAMES.join(', ')})\n`);
        process.exit(2);
      }
      opts.only = NAMES.filter((n) => names.includes(n));
    } else {
      process.stderr.write(`fetch-debian: unknown argument ${arg}\n`);
      usage(2);
    }
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------------------------
// Stamps

const stampFile = (name) => join(STAMPS, `${name}.json`);

/** The stamp when the set is in place (every wrapper, the root) and was made by this recipe, else undefined. */
function currentStamp(name, opts) {
  const stamp = readJson(stampFile(name));
  if (!stamp || stamp.recipe !== RECIPE || !(stamp.wrappers ?? []).every((w) => existsSync(join(BIN, w)))) {
    return undefined;
  }
  if (stamp.source === 'system') {
    if (name === 'tmux' && opts.fetchTmux) return undefined;
    return existsSync(stamp.path) ? stamp : undefined;
  }
  if (name === 'tmux' && !opts.fetchTmux && which('tmux')) return undefined; // switch to the system's tmux
  return existsSync(join(ROOTS, name, stamp.binary)) ? stamp : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Fetching

/** Resolves and downloads a set's packages: the plan for unpacking it. */
async function planSet(name, ctx) {
  const spec = SETS[name];
  const reasons = [];
  for (const suite of spec.sources) {
    const suites = suite.endsWith('-backports') ? [suite.replace(/-backports$/, ''), suite] : [suite];
    const suiteApt = apt.aptFor(ctx, suites);
    const wanted = (spec.install ?? [spec.pkg]).map((p) => (suites.length > 1 ? `${p}/${suite}` : p));
    let pkgs;
    try {
      await suiteApt.update();
      pkgs = await suiteApt.resolve(wanted);
    } catch (err) {
      if (!(err instanceof FetchError)) throw err;
      reasons.push(`${suite}: ${err.message}`);
      continue;
    }
    if (spec.only) pkgs = pkgs.filter((p) => spec.only.includes(p.name));
    if (spec.prune) pkgs = pkgs.filter((p) => !spec.prune.includes(p.name));
    const absent = (spec.only ?? spec.install ?? [spec.pkg]).filter((n) => !pkgs.some((p) => p.name === n));
    if (absent.length) {
      reasons.push(`${suite}: apt would not install ${absent.join(', ')}`);
      continue;
    }
    const main = pkgs.find((p) => p.name === spec.pkg);
    if (!spec.version.test(main.version)) {
      reasons.push(`${suite}: ${spec.pkg} is ${main.version}, not ${spec.version}`);
      continue;
    }
    log(`${name}: ${spec.pkg} ${main.version} from ${suite}, ${pkgs.length} packages`);
    return { name, spec, suite, version: main.version, pkgs, debs: await suiteApt.download(pkgs) };
  }
  throw new FetchError(`${name}: cannot fetch ${spec.pkg} matching ${spec.version}:\n  ${reasons.join('\n  ')}`);
}

/** Unpacks a planned set, writes its wrappers, then its stamp (last: a stamp means the set is complete). */
async function install(plan, arch) {
  const { name, spec, suite, version, pkgs, debs } = plan;
  const how = await unpack.unpackRoot(name, debs, async (root) => {
    const prepared = await spec.prepare(name, root, unpack.layout(root, arch));
    await unpack.checkLibraries(root, prepared, prepared.libraries);
    await spec.warm?.(name, root, prepared);
    return prepared;
  });
  const info = `${spec.pkg} ${version} (Debian ${suite})`;
  const names = how.wrappers.map((w) => w.name);
  // Wrappers an older version of the set had and this one has not.
  for (const old of readJson(stampFile(name))?.wrappers ?? []) if (!names.includes(old)) rmSync(join(BIN, old), { force: true });
  for (const w of how.wrappers) {
    writeAtomic(join(BIN, w.name), unpack.wrapperScript({ ...w, root: name, info, loader: how.loader, libDirs: how.libDirs }), 0o755);
  }
  const stamp = {
    recipe: RECIPE,
    set: name,
    source: 'debian',
    suite,
    package: spec.pkg,
    version,
    binary: how.wrappers[0].binary,
    wrappers: names,
    packages: pkgs.map((p) => `${p.name}=${p.version}`),
    debs: debs.map((d) => basename(d)),
  };
  writeAtomic(stampFile(name), `${JSON.stringify(stamp, null, 2)}\n`);
  return stamp;
}

function useSystemTmux(path) {
  const version = runSync(path, ['-V'], { what: 'tmux -V' }).trim();
  writeAtomic(join(BIN, 'tmux'), `#!/bin/sh\n# tmux: the system's ${version} (scripts/fetch-debian.mjs)\nexec ${shQuote(path)} "$@"\n`, 0o755);
  const stamp = { recipe: RECIPE, set: 'tmux', source: 'system', path, version: version.replace(/^tmux /, ''), wrappers: ['tmux'] };
  writeAtomic(stampFile('tmux'), `${JSON.stringify(stamp, null, 2)}\n`);
  return stamp;
}

/**
 * Removes .debs no stamp refers to (old versions), roots and wrappers no stamp vouches for, leftovers of killed
 * runs, and .cache/editors/ (where this fetcher kept the editors before it also fetched llama.cpp).
 */
function prune() {
  const debs = new Set();
  const wrappers = new Set();
  const roots = new Set();
  for (const name of NAMES) {
    const stamp = readJson(stampFile(name));
    for (const d of stamp?.debs ?? []) debs.add(d);
    for (const w of stamp?.wrappers ?? []) wrappers.add(w);
    if (stamp?.source === 'debian') roots.add(name);
  }
  const sweep = (dir, keep) => {
    if (!existsSync(dir)) return;
    for (const f of readdirSync(dir)) if (!keep.has(f)) rmSync(join(dir, f), { recursive: true, force: true });
  };
  sweep(DEBS, debs);
  sweep(ROOTS, roots);
  sweep(BIN, wrappers);
  const old = join(REPO, '.cache', 'editors');
  if (existsSync(old)) {
    log(`removing ${old} (the editors now live in ${CACHE})`);
    rmSync(old, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Check and report

function check(names) {
  let failed = 0;
  const rows = [];
  for (const name of names) {
    for (const { wrapper = name, args, show } of SETS[name].check) {
      const path = join(BIN, wrapper);
      if (!existsSync(path)) {
        rows.push([wrapper, `MISSING (run node scripts/fetch-debian.mjs --only ${name})`, path]);
        failed++;
        continue;
      }
      const started = Date.now();
      const res = spawnSync(path, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
      // llama-server prints its version on stderr; `show` picks the line that proves the wrapper works.
      const lines = (`${res.stdout ?? ''}`.trim() || `${res.stderr ?? ''}`.trim()).split('\n');
      const first = (show ? lines.find((l) => show.test(l)) : lines[0]) ?? '';
      if (res.status !== 0 || !first) {
        const why = `${res.stderr ?? res.error?.message ?? ''}`.trim().split('\n').pop();
        rows.push([wrapper, `FAILED (${res.status ?? res.signal ?? res.error?.code}): ${why}`, path]);
        failed++;
      } else rows.push([wrapper, `${first} (${Date.now() - started} ms)`, path]);
    }
  }
  table(['wrapper', 'version', 'path'], rows);
  return failed;
}

function table(head, rows) {
  const all = [head, ...rows];
  const w = [0, 1].map((i) => Math.max(...all.map((r) => r[i].length)));
  for (const r of all) process.stdout.write(`${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2]}\n`);
}

function describe(stamp) {
  return stamp.source === 'system'
    ? `tmux ${stamp.version} (system ${stamp.path})`
    : `${stamp.package} ${stamp.version} (Debian ${stamp.suite})`;
}

function wrappersOf(name, stamp) {
  const list = stamp?.wrappers ?? [name];
  return `${join(BIN, list[0])}${list.length > 1 ? ` (and ${list.length - 1} more: ${list.slice(1, 3).join(', ')}, …)` : ''}`;
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
      for (const name of [...todo].sort((a, b) => (SETS[b].weight ?? 0) - (SETS[a].weight ?? 0))) {
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
        apt ??= await import('./debian/apt.mjs');
        unpack ??= await import('./debian/unpack.mjs');
        ctx ??= apt.aptContext();
        let plan;
        try {
          plan = await planSet(name, ctx);
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
      for (const used of ctx?.apts.values() ?? []) rmSync(join(used.dir, 'cache', 'pkgcache.bin'), { force: true });
      log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      release();
    }
  }

  table(
    ['set', 'version', 'wrappers'],
    opts.only.map((name) => [name, stamps.has(name) ? describe(stamps.get(name)) : 'MISSING', wrappersOf(name, stamps.get(name))]),
  );
  if (failures.length) {
    process.stderr.write(`fetch-debian: could not fetch everything:\n${failures.join('\n')}\n`);
    process.exit(1);
  }
}

try {
  await main();
} catch (err) {
  if (!(err instanceof FetchError)) throw err;
  process.stderr.write(`fetch-debian: ${err.message}\n`);
  process.exit(1);
}
