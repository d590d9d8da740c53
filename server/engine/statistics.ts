import type { LabelChange } from '../feedback/feedback-service.js';
import type { CacheStats } from '../store/answer-cache.js';
import type { LongOutcome } from './actions/ask-models.js';
import type { ModelOutcome } from './candidates.js';

export interface ModelStats {
  /** Times the model was asked (each sample counts). */
  requests: number;
  /** Usable answers (survived post-processing) that arrived before the decision: "answers in time". */
  answers: number;
  /** Completions whose answer this model agreed with (or gave). */
  wins: number;
  /** Calls aborted because the cascade already had its answer. */
  cancelled: number;
  /** Answers that post-processing dropped entirely. */
  filtered: number;
  failures: number;
  /** Aborted at the deadline. */
  late: number;
  meanLatencyMs: number;
}

export interface EngineStats {
  completions: { requests: number; answered: number; skipped: number; empty: number; aborted: number };
  feedback: { accepted: number; partiallyAccepted: number; rejected: number; acceptedChars: number };
  models: Record<string, ModelStats>;
  /** Backend problems still open, as told to the user. */
  problems: string[];
  /** Code actions run (listing them is free and not counted). */
  actions: { requests: number; edits: number; explanations: number; noChange: number; failed: number; aborted: number };
  hover: { requests: number; answered: number; cacheHits: number; late: number; empty: number; none: number; aborted: number };
  /** Models answering actions and hovers (chat), kept apart from completions: their latencies are seconds, not ms.
   *  `filtered` counts answers that could not be used (no code, or code that would break the syntax). */
  actionModels: Record<string, ModelStats>;
  /** Answer cache: hits per tier, typed-ahead, misses, evictions, hit latency; runs shared by identical requests. */
  cache?: CacheStats & { sharedRuns: number };
  /** The feedback recording (FeedbackService.stats): on or off, level, counters, learned weights and methods. */
  recording?: Record<string, unknown>;
}

/** Counters behind `xencode.stats`. */
export class EngineStatistics {
  private readonly completions = { requests: 0, answered: 0, skipped: 0, empty: 0, aborted: 0 };
  private readonly feedback = { accepted: 0, partiallyAccepted: 0, rejected: 0, acceptedChars: 0 };
  private readonly perModel: ModelTable = new Map();
  private readonly perActionModel: ModelTable = new Map();
  readonly actions = { requests: 0, edits: 0, explanations: 0, noChange: 0, failed: 0, aborted: 0 };
  readonly hover = { requests: 0, answered: 0, cacheHits: 0, late: 0, empty: 0, none: 0, aborted: 0 };

  request(): void {
    this.completions.requests++;
  }
  skipped(): void {
    this.completions.skipped++;
  }
  empty(): void {
    this.completions.empty++;
  }
  aborted(): void {
    this.completions.aborted++;
  }
  answered(): void {
    this.completions.answered++;
  }
  accepted(partial: boolean): void {
    if (partial) this.feedback.partiallyAccepted++;
    else this.feedback.accepted++;
  }
  /** A partially accepted completion was then accepted to its end. */
  completedPartialAccept(): void {
    this.feedback.partiallyAccepted--;
    this.feedback.accepted++;
  }
  acceptedChars(count: number): void {
    this.feedback.acceptedChars += count;
  }
  rejected(): void {
    this.feedback.rejected++;
  }
  /** The session counters follow the labels the feedback signals decide. */
  labelChanged(change: LabelChange): void {
    const taken = (label: string) => label === 'accepted' || label === 'partlyAccepted';
    if (!taken(change.from) && taken(change.to)) this.accepted(change.to === 'partlyAccepted');
    // Partial accepts that end up taking all of it (word by word) count as an accept.
    else if (change.from === 'partlyAccepted' && change.to === 'accepted') this.completedPartialAccept();
    if (change.to === 'rejected' && change.from !== 'rejected') this.rejected();
    // An explicit accept wins over a rejection: the label, and so the counters, say accepted only.
    else if (change.from === 'rejected' && change.to !== 'rejected') this.unrejected();
    this.acceptedChars(change.acceptedChars);
  }

  /** A rejected completion was accepted after all (an explicit accept wins over a rejection): no longer rejected. */
  unrejected(): void {
    this.feedback.rejected--;
  }

  /** Records one completion's model calls; `winners` are the models that agreed with the answer given. */
  models(outcomes: readonly ModelOutcome[], winners: readonly string[]): void {
    for (const model of new Set(winners)) entry(this.perModel, model).wins++;
    for (const outcome of outcomes) {
      const latencyMs = outcome.kind === 'answered' ? outcome.candidate.latencyMs : outcome.kind === 'filtered' ? outcome.latencyMs : undefined;
      tally(entry(this.perModel, outcome.model), outcome.kind, latencyMs, outcome.kind === 'failed' && outcome.error.kind === 'aborted');
    }
  }

  /** Mean latency of the model's answers so far (undefined before the first). */
  meanLatency(model: string): number | undefined {
    const s = this.perModel.get(model);
    return s && s.latencyCount > 0 ? s.latencyTotal / s.latencyCount : undefined;
  }

  /** Records one action's or hover's model calls; `winners` are the models that agreed with the answer used. */
  actionModels(outcomes: readonly LongOutcome[], winners: readonly string[]): void {
    for (const model of new Set(winners)) entry(this.perActionModel, model).wins++;
    for (const outcome of outcomes) {
      const latencyMs = outcome.kind === 'answered' || outcome.kind === 'unusable' ? outcome.latencyMs : undefined;
      const kind = outcome.kind === 'unusable' ? 'filtered' : outcome.kind;
      tally(entry(this.perActionModel, outcome.model), kind, latencyMs, outcome.kind === 'failed' && outcome.error.kind === 'aborted');
    }
  }

  snapshot(problems: string[]): EngineStats {
    return {
      completions: { ...this.completions },
      feedback: { ...this.feedback },
      models: table(this.perModel),
      actions: { ...this.actions },
      hover: { ...this.hover },
      actionModels: table(this.perActionModel),
      problems,
    };
  }
}

type ModelTable = Map<string, ModelStats & { latencyTotal: number; latencyCount: number }>;

function entry(models: ModelTable, model: string) {
  let s = models.get(model);
  if (!s) {
    s = { requests: 0, answers: 0, wins: 0, cancelled: 0, filtered: 0, failures: 0, late: 0, meanLatencyMs: 0, latencyTotal: 0, latencyCount: 0 };
    models.set(model, s);
  }
  return s;
}

/** Counts one model call: its request, what became of it, and its latency when it answered. */
function tally(s: ReturnType<typeof entry>, kind: 'answered' | 'filtered' | 'failed' | 'cancelled' | 'late', latencyMs: number | undefined, aborted: boolean): void {
  s.requests++;
  if (kind === 'answered') s.answers++;
  else if (kind === 'filtered') s.filtered++;
  else if (kind === 'failed') s.failures += aborted ? 0 : 1;
  else if (kind === 'cancelled') s.cancelled++;
  else s.late++;
  if (latencyMs !== undefined) {
    s.latencyTotal += latencyMs;
    s.latencyCount++;
  }
}

function table(models: ModelTable): Record<string, ModelStats> {
  const out: Record<string, ModelStats> = {};
  for (const [name, s] of models) {
    out[name] = {
      requests: s.requests,
      answers: s.answers,
      wins: s.wins,
      cancelled: s.cancelled,
      filtered: s.filtered,
      failures: s.failures,
      late: s.late,
      meanLatencyMs: s.latencyCount ? Math.round((s.latencyTotal / s.latencyCount) * 10) / 10 : 0,
    };
  }
  return out;
}
