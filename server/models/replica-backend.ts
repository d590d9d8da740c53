/**
 * One model served by several servers (`models[].host` listing several hosts): each request goes to the replica with
 * the least outstanding work; a replica that fails is taken out, probed in the background and put back.
 */
import {
  BackendError,
  type BackendEnvironment,
  type BackendErrorKind,
  type ChatAnswer,
  type ChatRequest,
  type CompletionBackend,
  type FimAnswer,
  type FimRequest,
  type ProviderName,
} from './backend.js';
import { networkFailure } from './http-stream.js';

export interface ReplicaOptions {
  /** Log, user messages (one when a replica goes out, one when it is back), environment. */
  readonly environment: BackendEnvironment;
  /** How often a replica that was taken out is probed; default 10 s. */
  readonly probeIntervalMs?: number;
  /** How long one probe may take before it counts as failed; default 30 s (a cold server may load the model first). */
  readonly probeTimeoutMs?: number;
}

const DEFAULT_PROBE_INTERVAL_MS = 10_000;
const DEFAULT_PROBE_TIMEOUT_MS = 30_000;
/** A request is sent at most twice: once, and once more on another replica (nothing was shown yet, so it is safe). */
const MAX_ATTEMPTS = 2;
/** The longest reason quoted in a message. */
const MAX_REASON = 300;

/**
 * What a failure says about the replica that gave it.
 * - 'out': the server is gone or broken ('unreachable', 'server'), or cannot serve this model as configured while
 *   the other replicas may ('model-not-found': not pulled there; 'wrong-provider': that URL is another kind of
 *   server; 'unauthorized': the key is wrong for that server). Taken out with one message naming it, retried
 *   elsewhere, put back once a probe succeeds (the user pulled the model, fixed the URL…).
 * - 'quiet-out': 'loading' — the server is up and still loading the model. Not a failure worth a message, but no
 *   use sending requests there until it is done: out silently until a probe says it is ready.
 * - 'busy': the server's queue is full. It is alive, so it stays in (a probe would put it back at once and the
 *   user would hear twice about a moment's load); this request is retried on another replica.
 * - 'answered': 'bad-request', 'no-insert' — the server answered and the request or the model is at fault: every
 *   replica would say the same, so it is thrown as is and the replica stays in.
 * - 'aborted': the caller's decision; it never takes a replica out.
 */
type Consequence = 'out' | 'quiet-out' | 'busy' | 'answered' | 'aborted';

const CONSEQUENCES: Readonly<Record<BackendErrorKind, Consequence>> = {
  unreachable: 'out',
  server: 'out',
  'model-not-found': 'out',
  'wrong-provider': 'out',
  unauthorized: 'out',
  loading: 'quiet-out',
  busy: 'busy',
  'bad-request': 'answered',
  'no-insert': 'answered',
  aborted: 'aborted',
};

/** Failures of the model on a server that was there: the runner crashed, the model is not installed there. */
const MODEL_FAILURES: ReadonlySet<BackendErrorKind> = new Set(['server', 'model-not-found']);

/** Kinds whose message says what to fix on that server (keep it whole); for the others the first sentence says it. */
const FIX_ON_SERVER: ReadonlySet<BackendErrorKind> = new Set(['model-not-found', 'wrong-provider', 'unauthorized']);

function modelFailed(err: unknown): boolean {
  return err instanceof BackendError && MODEL_FAILURES.has(err.kind);
}

function consequence(err: unknown): Consequence {
  // Backends throw BackendErrors; anything else (OllamaBackend.warm passes on what ollama-js threw) means the
  // replica could not answer, and it is not known to be healthy.
  return err instanceof BackendError ? CONSEQUENCES[err.kind] : 'out';
}

/** Why a replica failed, short enough for a message. */
function reasonOf(err: unknown): string {
  let reason: string;
  if (err instanceof BackendError) reason = FIX_ON_SERVER.has(err.kind) ? err.message : firstSentence(err.message);
  else reason = networkFailure(err)?.code ?? firstSentence(err instanceof Error ? err.message : String(err));
  return reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason;
}

function firstSentence(text: string): string {
  const end = text.search(/\.\s/);
  return end === -1 ? text.replace(/\.$/, '') : text.slice(0, end);
}

function interval(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

interface Replica {
  readonly backend: CompletionBackend;
  readonly index: number;
  /** Requests sent to it and not finished. */
  inFlight: number;
  /**
   * Set while it is taken out; `since` orders it against the requests sent to it (see `ReplicaBackend.tick`);
   * `modelFailed`: the server was there and this model failed on it (see `ReplicaBackend.check`).
   */
  out: { reason: string; quiet: boolean; since: number; modelFailed: boolean } | undefined;
  /** When it last failed: when every replica is out, the one that failed longest ago is tried first. */
  failedAt: number;
  /** When it was last put back: a failure of a request sent before then is old news. */
  backAt: number;
  probeTimer: NodeJS.Timeout | undefined;
  probing: AbortController | undefined;
}

/**
 * A CompletionBackend over several replicas of one model (one backend each, all of the same provider and model).
 * Every request goes to the healthy replica with the least outstanding work: requests in flight on it relative to
 * its slots (`serverSlots`, 1 when unknown), ties broken by rotation so that equal replicas share the load.
 * A replica whose request fails because it is gone or broken is taken out (the user hears once) and the request is
 * retried once on another; it is probed every `probeIntervalMs` and put back when the probe succeeds (the user
 * hears that too). When every replica is out, requests still try them, the one that failed longest ago first, and
 * the last failure is thrown for the engine's health reporting.
 */
export class ReplicaBackend implements CompletionBackend {
  readonly provider: ProviderName;
  readonly model: string;
  /** The first replica's: the engine keys its health reports by it, so every error thrown here carries it. */
  readonly host: string;
  private readonly replicas: readonly Replica[];
  private readonly environment: BackendEnvironment;
  private readonly probeIntervalMs: number;
  private readonly probeTimeoutMs: number;
  /** Where the search for the next replica starts: just after the last one chosen. */
  private rotation = 0;
  /** A counter that orders events (requests sent, replicas out and back) without relying on clock resolution. */
  private clock = 0;
  private closing: Promise<void> | undefined;

  constructor(replicas: readonly CompletionBackend[], options: ReplicaOptions) {
    const first = replicas[0];
    if (!first) throw new Error('ReplicaBackend needs at least one replica');
    this.provider = first.provider;
    this.model = first.model;
    this.host = first.host;
    this.environment = options.environment;
    this.probeIntervalMs = options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    this.probeTimeoutMs = options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    this.replicas = replicas.map((backend, index) => ({
      backend,
      index,
      inFlight: 0,
      out: undefined,
      failedAt: 0,
      backAt: 0,
      probeTimer: undefined,
      probing: undefined,
    }));
  }

  /** The sum of the replicas' slots that are known; undefined while none is. */
  get serverSlots(): number | undefined {
    let sum: number | undefined;
    for (const { backend } of this.replicas) {
      const slots = backend.serverSlots;
      if (slots !== undefined && slots > 0) sum = (sum ?? 0) + slots;
    }
    return sum;
  }

  complete(request: FimRequest): Promise<FimAnswer> {
    return this.route(request.signal, (backend) => backend.complete(request));
  }

  /** A retried chat starts over: `onText` then reports the new answer's text from its start. */
  chat(request: ChatRequest): Promise<ChatAnswer> {
    return this.route(request.signal, (backend) => backend.chat(request));
  }

  /** Warms every replica; one that fails is taken out. Throws only when every replica failed. */
  async warm(): Promise<void> {
    const failures = await Promise.all(
      this.replicas.map(async (replica) => {
        const sent = this.tick();
        try {
          await replica.backend.warm();
          this.answered(replica, sent);
          return undefined;
        } catch (err) {
          const effect = consequence(err);
          if (effect === 'out' || effect === 'quiet-out') this.takeOut(replica, err, effect === 'quiet-out', sent);
          return { err };
        }
      }),
    );
    const last = failures.at(-1);
    if (failures.every((f) => f !== undefined) && last) throw this.asOwn(last.err);
  }

  /** Stops the probes and closes every replica, once. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    for (const replica of this.replicas) {
      clearTimeout(replica.probeTimer);
      replica.probeTimer = undefined;
      replica.probing?.abort();
    }
    // The same backend given twice is closed once.
    const backends = new Set(this.replicas.map((r) => r.backend));
    await Promise.all(
      [...backends].map(async (backend) => {
        try {
          await backend.close?.();
        } catch (err) {
          this.environment.logger.warn(`closing replica ${backend.host} of ${this.model} failed: ${(err as Error).message}`);
        }
      }),
    );
  }

  private async route<T>(signal: AbortSignal, call: (backend: CompletionBackend) => Promise<T>): Promise<T> {
    const tried = new Set<Replica>();
    let last: unknown;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      // Chosen synchronously: requests made at the same moment see each other's in-flight counts.
      const replica = this.pick(tried);
      if (!replica) break;
      tried.add(replica);
      const sent = this.tick();
      replica.inFlight++;
      try {
        const answer = await call(replica.backend);
        this.answered(replica, sent);
        return answer;
      } catch (err) {
        last = err;
        const effect = signal.aborted ? 'aborted' : consequence(err);
        if (effect === 'aborted' || effect === 'answered') break;
        if (effect !== 'busy') this.takeOut(replica, err, effect === 'quiet-out', sent);
      } finally {
        replica.inFlight--;
      }
    }
    throw this.asOwn(last);
  }

  /**
   * The healthy replica not tried yet with the least outstanding work, the first in rotation order among equals;
   * when none is healthy, the one not tried that failed longest ago (it may be back, and a request deserves a try
   * rather than a refusal).
   */
  private pick(tried: ReadonlySet<Replica>): Replica | undefined {
    const count = this.replicas.length;
    let best: Replica | undefined;
    for (let i = 0; i < count; i++) {
      const replica = this.replicas[(this.rotation + i) % count]!;
      if (replica.out || tried.has(replica)) continue;
      if (!best || lighter(replica, best)) best = replica;
    }
    if (!best) {
      for (const replica of this.replicas) if (!tried.has(replica) && (!best || replica.failedAt < best.failedAt)) best = replica;
    }
    if (best) this.rotation = (best.index + 1) % count;
    return best;
  }

  private tick(): number {
    return ++this.clock;
  }

  /** A request sent at `sent` was answered: a replica that was out then is back. */
  private answered(replica: Replica, sent: number): void {
    if (replica.out && sent > replica.out.since) this.putBack(replica);
  }

  private takeOut(replica: Replica, err: unknown, quiet: boolean, sent: number): void {
    replica.failedAt = this.tick();
    // Sent before it was last put back: that failure was seen already, or the replica has recovered since.
    if (sent < replica.backAt) return;
    const reason = reasonOf(err);
    const { logger } = this.environment;
    if (replica.out) {
      // Loading, then gone: now it is worth a message.
      if (replica.out.quiet && !quiet) {
        replica.out = { ...replica.out, reason, quiet: false, modelFailed: modelFailed(err) };
        this.announceOut(replica, reason);
      }
      return;
    }
    replica.out = { reason, quiet, since: replica.failedAt, modelFailed: modelFailed(err) };
    logger.info(`replica ${replica.backend.host} of ${this.model} taken out: ${reason}`);
    if (!quiet) this.announceOut(replica, reason);
    this.scheduleProbe(replica);
  }

  private putBack(replica: Replica): void {
    const wasQuiet = replica.out?.quiet ?? true;
    replica.out = undefined;
    replica.backAt = this.tick();
    clearTimeout(replica.probeTimer);
    replica.probeTimer = undefined;
    replica.probing?.abort();
    this.environment.logger.info(`replica ${replica.backend.host} of ${this.model} is back`);
    if (wasQuiet) return;
    const answering = this.replicas.filter((r) => !r.out).length;
    this.environment.notify(
      'info',
      `Replica ${replica.backend.host} of ${this.model} is answering again; requests go to it again (${answering} of ${this.replicas.length} answering).`,
    );
  }

  private announceOut(replica: Replica, reason: string): void {
    const others = this.replicas.filter((r) => !r.out).length;
    const total = this.replicas.length;
    const where = others > 0 ? `requests go to the other ${others} (of ${total})` : `none of the ${total} is answering now, requests still try each`;
    this.environment.notify(
      'warn',
      `Replica ${replica.backend.host} of ${this.model} is not answering (${reason}); ${where}. Xencode checks it again every ${interval(this.probeIntervalMs)}.`,
    );
  }

  private scheduleProbe(replica: Replica): void {
    if (this.closing || replica.probeTimer || replica.probing) return;
    replica.probeTimer = setTimeout(() => {
      replica.probeTimer = undefined;
      void this.probeReplica(replica);
    }, this.probeIntervalMs);
    // A probe never keeps the process alive.
    replica.probeTimer.unref();
  }

  private async probeReplica(replica: Replica): Promise<void> {
    if (!replica.out || this.closing) return;
    const controller = new AbortController();
    replica.probing = controller;
    const timeout = setTimeout(() => controller.abort(new Error('probe timed out')), this.probeTimeoutMs);
    timeout.unref();
    const sent = this.tick();
    try {
      await this.check(replica.backend, replica.out.modelFailed, controller.signal);
      if (!controller.signal.aborted) this.answered(replica, sent);
    } catch (err) {
      this.environment.logger.debug(`probe of replica ${replica.backend.host} of ${this.model} failed: ${reasonOf(err)}`);
    } finally {
      clearTimeout(timeout);
      if (replica.probing === controller) replica.probing = undefined;
      if (replica.out) this.scheduleProbe(replica);
    }
  }

  /**
   * Whether the server is up and serves the model: the backend's own probe when it has one, else a one-token
   * completion. The completion too when the model itself failed on a server that was there (a server-level probe,
   * such as Ollama's /api/version, would put back a replica whose model is missing or crashing, and the user would
   * hear about it again at its next request). A server that answers about the request ('busy', 'bad-request',
   * 'no-insert': a chat-only model asked to fill in the middle) is up.
   */
  private async check(backend: CompletionBackend, modelFailed: boolean, signal: AbortSignal): Promise<void> {
    try {
      if (backend.probe && !modelFailed) await backend.probe(signal);
      else await backend.complete({ prefix: '//', suffix: '', maxTokens: 1, temperature: 0, signal });
    } catch (err) {
      const effect = consequence(err);
      if (signal.aborted || (effect !== 'busy' && effect !== 'answered')) throw err;
    }
  }

  /**
   * The error a request failed with, as this backend's: the replica's kind and message (which name the replica),
   * and this backend's host, so that the engine's health report is cleared by the next answer from any replica.
   */
  private asOwn(err: unknown): unknown {
    if (!(err instanceof BackendError) || err.host === this.host) return err;
    return new BackendError(err.kind, err.message, err.model, this.host);
  }
}

/** Whether `a` would be less loaded than `b` after taking one more request (relative to their slots). */
function lighter(a: Replica, b: Replica): boolean {
  return (a.inFlight + 1) * slotsOf(b) < (b.inFlight + 1) * slotsOf(a);
}

function slotsOf(replica: Replica): number {
  const slots = replica.backend.serverSlots;
  return slots !== undefined && slots > 0 ? slots : 1;
}
