/**
 * A llama-server Xencode starts and owns (models[].gguf, the no-daemon path): started on first use on a free
 * loopback port, ready once /health answers 200, restarted with back-off when it dies, stopped on close() and —
 * through its watchdog — whenever Xencode exits, however it exits.
 */
import { availableParallelism } from 'node:os';
import { createServer } from 'node:net';
import { BackendError, type BackendEnvironment } from './backend.js';
import { checkGgufFile } from './gguf-file.js';
import { llamaServerArgs, reservedArgsProblems } from './llama-server-args.js';
import { findLlamaServer } from './llama-server-binary.js';
import { WatchedProcess, type ProcessExit } from './watched-process.js';

/** A big model on a slow disk takes a while to load; past this the start has failed. */
const DEFAULT_START_TIMEOUT_MS = 120_000;
/** Back-off between restarts: doubles from the first to the last with each failure in a row. */
const DEFAULT_BACKOFF = { firstMs: 1000, maxMs: 60_000 } as const;
/** A server that has served this long is stable again: the back-off and the crash streak start over. */
const DEFAULT_STABLE_MS = 60_000;
/** Ports tried when another process takes the picked one before llama-server binds it. */
const PORT_TRIES = 3;
/** Output lines a message quotes (the process keeps more, for the log). */
const QUOTED_LINES = 12;
/** How often /health is asked while the server starts: soon at first (a small model loads in ~50 ms), then calmer. */
const POLL_FIRST_MS = 50;
const POLL_LATER_MS = 250;
const POLL_FAST_FOR_MS = 2000;
/** What llama-server writes when its port is taken ("couldn't bind HTTP server socket"). */
const BIND_FAILURE = /couldn't bind|address already in use|EADDRINUSE/i;

export interface ManagedLlamaServerOptions {
  /** Absolute path to the model file. */
  readonly gguf: string;
  /** The model's name in messages. */
  readonly label: string;
  /** llamaCpp.serverPath. */
  readonly serverPath?: string;
  /** -np, the model's concurrency. */
  readonly slots: number;
  /** Tokens per slot (default 4096). */
  readonly contextSize?: number;
  /** Default derived from the machine. */
  readonly threads?: number;
  /** llamaCpp.args. */
  readonly extraArgs?: readonly string[];
  /** From ./backend.js: logger, notify(severity, message), env (PATH). */
  readonly environment: BackendEnvironment;
  /** How errors name the server (BackendError.host); default `llama-server:<gguf>`. */
  readonly host?: string;
  /** Default 120 s. */
  readonly startTimeoutMs?: number;
  /** Default 1 s doubling to 60 s. */
  readonly backoff?: { readonly firstMs: number; readonly maxMs: number };
  /** How long a server must serve before a crash counts as a new streak (default 60 s). */
  readonly stableMs?: number;
  /** Where the port comes from (default: one the OS gives on 127.0.0.1). */
  readonly pickPort?: () => Promise<number>;
}

/** Why a start ended without a server: its port was taken (try another) — anything else is thrown. */
type StartOutcome = { readonly url: string; readonly process: WatchedProcess } | 'port-taken';

export class ManagedLlamaServer {
  private readonly host: string;
  /** The process being started or serving. */
  private current: WatchedProcess | undefined;
  /** Set while `current` serves. */
  private url: string | undefined;
  private starting: Promise<string> | undefined;
  private closed = false;
  /** Stops back-off waits and health polls on close(). */
  private readonly closing = new AbortController();
  /** Failures (crashes or failed starts) since the server last served stably. */
  private failures = 0;
  /** No start before this time (epoch ms). */
  private retryAt = 0;
  /** The last failed start's error, repeated until retryAt instead of starting again. */
  private lastFailure: BackendError | undefined;
  /** A crash streak: the user was told it crashed, and whether that it serves again. */
  private streak: { recovered: boolean } | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private lastLogged: string | undefined;
  /** Exits while serving that close() did not ask for. */
  private crashCount = 0;

  constructor(private readonly options: ManagedLlamaServerOptions) {
    this.host = options.host ?? `llama-server:${options.gguf}`;
  }

  /** llama-server's process id while one runs (not its watchdog's). */
  get pid(): number | undefined {
    return this.current?.running ? this.current.pid : undefined;
  }

  /** How many times the server has crashed while serving, so far. */
  get crashes(): number {
    return this.crashCount;
  }

  /**
   * Whether the server crashed since its crash count was `before`, waiting up to `graceMs` for an exit under way: a
   * request broken by a crash can fail before the exit is noticed. The crash is told once, here; a request it broke
   * is only a consequence of it.
   */
  async crashedSince(before: number, graceMs = 1500): Promise<boolean> {
    const child = this.current;
    if (this.crashCount === before && child) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([child.exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      await Promise.resolve(); // the exit's own bookkeeping (registered first) has run by now
    }
    return this.crashCount !== before;
  }

  /** The watchdog's process id while one runs. */
  get watchdogPid(): number | undefined {
    return this.current?.running ? this.current.watchdogPid : undefined;
  }

  /**
   * The root URL (http://127.0.0.1:PORT) once /health answers 200; starts the process on first call (and after a
   * crash, per the back-off); concurrent callers share one start. The caller's signal gives up waiting, never
   * the start. Rejects with a BackendError: 'loading' while the model loads past the caller's signal, 'server'
   * for a process that cannot start (with its last output lines), 'bad-request' for a bad model file or
   * llamaCpp.args, 'unreachable' when no binary exists.
   */
  async endpoint(signal: AbortSignal): Promise<string> {
    if (this.closed) throw this.closedError();
    if (this.url) return this.url;
    if (!this.starting) {
      if (this.lastFailure && Date.now() < this.retryAt) throw this.lastFailure;
      this.launch();
    }
    return this.waitFor(this.starting!, signal);
  }

  /** Stops the process (SIGTERM, then SIGKILL after a grace), no restart after; idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.closing.abort();
      clearTimeout(this.stableTimer);
    }
    const starting = this.starting;
    await this.current?.stop();
    await starting?.catch(() => undefined);
  }

  /** Starts (after the back-off) in the background; `starting` is the shared promise of its URL. */
  private launch(): void {
    const start = this.start();
    this.starting = start;
    start.then(
      (url) => this.served(url),
      (err: unknown) => this.startFailed(err),
    );
    // The bookkeeping above has run by the time a caller awaiting `starting` resumes; no caller needs to await it.
    void start.finally(() => {
      if (this.starting === start) this.starting = undefined;
    }).catch(() => undefined);
  }

  private async start(): Promise<string> {
    await this.backoffWait();
    const { gguf, label } = this.options;
    const file = await checkGgufFile(gguf);
    if (!file.ok) throw this.error('bad-request', `Model ${label}: ${file.problem}`);
    const reserved = reservedArgsProblems(this.options.extraArgs ?? []);
    if (reserved.length > 0) throw this.error('bad-request', `Model ${label}: ${reserved.join(' ')}`);
    const binary = await findLlamaServer(this.options.serverPath, this.options.environment.env);
    if (!binary.ok) throw this.error('unreachable', `Cannot start llama-server for ${label}: ${binary.problem}`);
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw this.closedError();
      const outcome = await this.startOnce(binary.path, await (this.options.pickPort ?? freeLoopbackPort)());
      if (outcome !== 'port-taken') {
        this.current = outcome.process;
        return outcome.url;
      }
      if (attempt >= PORT_TRIES) throw this.error('server', `llama-server for ${label} could not listen: ${PORT_TRIES} free loopback ports in a row were taken before it bound them. Try again; if it persists, see what takes ports on 127.0.0.1.`);
      this.options.environment.logger.debug(`llama-server for ${label}: its port was taken, trying another`);
    }
  }

  /** One process on one port, until /health answers 200 (or it fails: then it is stopped). */
  private async startOnce(command: string, port: number): Promise<StartOutcome> {
    const { logger } = this.options.environment;
    const args = llamaServerArgs({ ...this.options, port, cpuCount: availableParallelism() });
    logger.info(`Starting llama-server for ${this.options.label}: ${commandLine(command, args)}`);
    const child = new WatchedProcess({
      command,
      args,
      env: this.options.environment.env,
      onLine: (line) => logger.debug(`llama-server ${this.options.label}: ${line}`),
    });
    this.current = child;
    const url = `http://127.0.0.1:${port}`;
    try {
      await this.waitHealthy(child, url, command, args);
      return { url, process: child };
    } catch (err) {
      await child.stop();
      if (this.current === child) this.current = undefined;
      if (err === PORT_TAKEN) return 'port-taken';
      throw err;
    }
  }

  private async waitHealthy(child: WatchedProcess, url: string, command: string, args: readonly string[]): Promise<void> {
    const started = Date.now();
    const timeoutMs = this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const exited = child.exited;
    // A poll must not outlive the process: its port may be someone else's by then (the port-taken case).
    const gone = new AbortController();
    void exited.then(() => gone.abort());
    for (;;) {
      if (this.closed) throw this.closedError();
      if (!child.running) {
        const exit = await exited;
        const lines = child.lastLines();
        if (lines.some((line) => BIND_FAILURE.test(line))) throw PORT_TAKEN;
        throw this.startError(exit, lines, command, args);
      }
      const status = await healthStatus(url, AbortSignal.any([this.closing.signal, gone.signal, AbortSignal.timeout(1000)]));
      if (status === 200) return;
      const elapsed = Date.now() - started;
      if (elapsed > timeoutMs) {
        const state = status === 503 ? 'it was still loading the model' : 'its /health never answered';
        throw this.error('server', `llama-server for ${this.options.label} did not become ready within ${seconds(timeoutMs)} (${state}) and was stopped.${quote(child.lastLines(QUOTED_LINES))}`);
      }
      // Whichever comes first: the next poll or the exit.
      await Promise.race([sleep(elapsed < POLL_FAST_FOR_MS ? POLL_FIRST_MS : POLL_LATER_MS, this.closing.signal), exited]);
    }
  }

  /** After a crash (or a failed start), no new start before retryAt; close() cuts the wait short. */
  private async backoffWait(): Promise<void> {
    const wait = this.retryAt - Date.now();
    if (wait > 0) await sleep(wait, this.closing.signal);
    if (this.closed) throw this.closedError();
  }

  private served(url: string): void {
    const child = this.current;
    if (!child || this.closed) return;
    this.url = url;
    this.lastFailure = undefined;
    const { logger, notify } = this.options.environment;
    logger.info(`llama-server for ${this.options.label} serves at ${url} (pid ${child.pid ?? '?'})`);
    if (this.streak && !this.streak.recovered) {
      this.streak.recovered = true;
      notify('info', `llama-server for ${this.options.label} is serving again.`);
    }
    clearTimeout(this.stableTimer);
    this.stableTimer = setTimeout(() => {
      if (this.current !== child || !this.url) return;
      this.failures = 0;
      this.retryAt = 0;
      this.streak = undefined;
    }, this.options.stableMs ?? DEFAULT_STABLE_MS);
    this.stableTimer.unref();
    void child.exited.then((exit) => this.exitedWhileServing(child, exit));
  }

  /** A serving process exited: unless close() stopped it, a crash: tell the user once per streak, restart. */
  private exitedWhileServing(child: WatchedProcess, exit: ProcessExit): void {
    if (this.current !== child) return;
    this.current = undefined;
    this.url = undefined;
    clearTimeout(this.stableTimer);
    if (this.closed) return;
    this.crashCount++;
    const delayMs = this.recordFailure();
    const message = `llama-server for ${this.options.label} stopped unexpectedly: it ${exit.description}. Restarting it in ${seconds(delayMs)}.${quote(child.lastLines(QUOTED_LINES))}`;
    if (!this.streak) {
      this.streak = { recovered: false };
      this.options.environment.notify('warn', message);
    } else this.options.environment.logger.warn(message);
    this.launch();
  }

  /** A failed start: no new one before the back-off, and the same error to whoever asks meanwhile. */
  private startFailed(err: unknown): void {
    if (this.closed || !(err instanceof BackendError)) return;
    // Said once while it stays the same: a missing model file fails every request the same way.
    if (err.message !== this.lastLogged) this.options.environment.logger.warn(err.message);
    this.lastLogged = err.message;
    // A bad file or a missing binary is a settings problem, checked again (cheaply) on each call, without back-off.
    if (err.kind !== 'server') return;
    const delayMs = this.recordFailure();
    const again = this.failures > 1 ? ` It failed ${this.failures} times in a row; next try in ${seconds(delayMs)} at the earliest.` : ` Next try in ${seconds(delayMs)} at the earliest.`;
    this.lastFailure = this.error('server', err.message + again);
  }

  /** Counts a failure; returns the back-off before the next start. */
  private recordFailure(): number {
    this.failures++;
    const backoff = this.options.backoff ?? DEFAULT_BACKOFF;
    const delayMs = Math.min(backoff.maxMs, backoff.firstMs * 2 ** (this.failures - 1));
    this.retryAt = Date.now() + delayMs;
    return delayMs;
  }

  /** The start, as long as the caller's signal lets it wait; the start itself goes on. */
  private waitFor(start: Promise<string>, signal: AbortSignal): Promise<string> {
    const loading = () =>
      this.error('loading', `llama-server is still starting for ${this.options.label} (loading ${this.options.gguf}); the request was given up, the start goes on. Try again in a moment.`);
    if (signal.aborted) return Promise.reject(loading());
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => reject(loading());
      signal.addEventListener('abort', onAbort, { once: true });
      start.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private startError(exit: ProcessExit, lines: readonly string[], command: string, args: readonly string[]): BackendError {
    return this.error(
      'server',
      `llama-server for ${this.options.label} could not start: it ${exit.description} before serving.${quote(lines.slice(-QUOTED_LINES))}\n` +
        `Check the model file (${this.options.gguf}), xencode.llamaCpp.args and xencode.llamaCpp.serverPath; the same command in a terminal shows everything: ${commandLine(command, args)}`,
    );
  }

  private closedError(): BackendError {
    return this.error('server', `The llama-server for ${this.options.label} was stopped (Xencode is shutting down or the model left the settings).`);
  }

  private error(kind: BackendError['kind'], message: string): BackendError {
    return new BackendError(kind, message, this.options.label, this.host);
  }
}

/** Thrown inside a start whose port another process took first. */
const PORT_TAKEN = Symbol('port taken');

/** A loopback port nothing listens on right now (llama-server may still lose it to another process: see PORT_TRIES). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** GET /health's status, or 0 when nothing answered (not listening yet, or the poll's time ran out). */
async function healthStatus(url: string, signal: AbortSignal): Promise<number> {
  try {
    const res = await fetch(`${url}/health`, { signal });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function quote(lines: readonly string[]): string {
  return lines.length > 0 ? ` Its last output:\n${lines.join('\n')}` : ' It wrote nothing.';
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** The command as a shell would take it, for messages and the log. */
function commandLine(command: string, args: readonly string[]): string {
  return [command, ...args].map((part) => (/^[\w@%+=:,./-]+$/.test(part) ? part : `'${part.replace(/'/g, `'\\''`)}'`)).join(' ');
}
