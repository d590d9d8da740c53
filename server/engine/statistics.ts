import type { ModelOutcome } from './candidates.js';

export interface ModelStats {
  /** Times the model was asked. */
  requests: number;
  /** Answers that survived post-processing. */
  answers: number;
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
}

/** Counters behind `xencode.stats`. */
export class EngineStatistics {
  private readonly completions = { requests: 0, answered: 0, skipped: 0, empty: 0, aborted: 0 };
  private readonly feedback = { accepted: 0, partiallyAccepted: 0, rejected: 0, acceptedChars: 0 };
  private readonly perModel = new Map<string, ModelStats & { latencyTotal: number; latencyCount: number }>();

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
  acceptedChars(count: number): void {
    this.feedback.acceptedChars += count;
  }
  rejected(): void {
    this.feedback.rejected++;
  }

  models(outcomes: readonly ModelOutcome[]): void {
    for (const outcome of outcomes) {
      let s = this.perModel.get(outcome.model);
      if (!s) {
        s = { requests: 0, answers: 0, filtered: 0, failures: 0, late: 0, meanLatencyMs: 0, latencyTotal: 0, latencyCount: 0 };
        this.perModel.set(outcome.model, s);
      }
      s.requests++;
      if (outcome.kind === 'answered') {
        s.answers++;
        s.latencyTotal += outcome.candidate.latencyMs;
        s.latencyCount++;
      } else if (outcome.kind === 'filtered') {
        s.filtered++;
        s.latencyTotal += outcome.latencyMs;
        s.latencyCount++;
      } else if (outcome.kind === 'failed') {
        if (outcome.error.kind !== 'aborted') s.failures++;
      } else s.late++;
    }
  }

  snapshot(problems: string[]): EngineStats {
    const models: Record<string, ModelStats> = {};
    for (const [name, s] of this.perModel) {
      models[name] = {
        requests: s.requests,
        answers: s.answers,
        filtered: s.filtered,
        failures: s.failures,
        late: s.late,
        meanLatencyMs: s.latencyCount ? Math.round((s.latencyTotal / s.latencyCount) * 10) / 10 : 0,
      };
    }
    return { completions: { ...this.completions }, feedback: { ...this.feedback }, models, problems };
  }
}
