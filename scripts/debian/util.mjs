// Shared pieces of scripts/fetch-debian.mjs: the cache's folders, running commands, atomic writes, the lock that
// makes parallel test workers fetch once, and a small concurrency limiter.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CACHE = join(REPO, '.cache', 'debian');
export const BIN = join(CACHE, 'bin');
export const ROOTS = join(CACHE, 'roots');
export const STAMPS = join(CACHE, 'stamps');
export const DEBS = join(CACHE, 'debs');
export const APT = join(CACHE, 'apt');

/** A failure the user can act on: printed without a stack trace. */
export class FetchError extends Error {}

const T0 = Date.now();
export const log = (msg) =>
  process.stderr.write(`fetch-debian: [${((Date.now() - T0) / 1000).toFixed(1)} s] ${msg}\n`);

const tail = (stdout, stderr) => `${stdout}\n${stderr}`.trim().split('\n').slice(-15).join('\n');

/** Runs a command to its end; returns its stdout, or throws a FetchError with the command's output tail. */
export function runSync(cmd, args, { env, cwd, what } = {}) {
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
    throw new FetchError(
      `${what ?? cmd}: ${cmd} ${args.join(' ')} failed (exit ${res.status}):\n${tail(res.stdout, res.stderr)}`,
    );
  }
  return res.stdout;
}

/** runSync, asynchronous: resolving the next set and unpacking the previous ones overlap. */
export function run(cmd, args, { env, cwd, what } = {}) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, LC_ALL: 'C', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
      reject(new FetchError(`${what ?? cmd}: ${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${tail(stdout, stderr)}`));
    });
  });
}

/** A command on PATH, not one of our own wrappers (bin/ on PATH would make tmux find itself). */
export function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || resolve(dir) === BIN) continue;
    try {
      if (statSync(join(dir, cmd)).isFile()) return join(dir, cmd);
    } catch {
      /* not here */
    }
  }
  return undefined;
}

export function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Writes a file atomically (temporary name in the same folder, then rename). */
export function writeAtomic(file, text, mode = 0o644) {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

export const shQuote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** A lock folder so that parallel test workers fetch once. Returns the release function. */
export function lock() {
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

/** Runs the tasks given to it at most `limit` at a time. */
export function limiter(limit) {
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
