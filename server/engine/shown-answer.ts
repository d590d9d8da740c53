import type { ShownAnswer, ShownCall } from '../feedback/feedback-service.js';
import type { CompletionAnswer } from './engine.js';

/** How each configured model took part: where it runs and the weight the ensemble gave it. */
export interface MemberInfo {
  readonly host: string;
  readonly weight: number;
}

/**
 * What the feedback record keeps of an answer: every call with its candidate, latency and exact prompt. Built
 * from references (no copies), so it costs next to nothing on the request path.
 */
export function shownAnswer(answer: CompletionAnswer, members: ReadonlyMap<string, MemberInfo>, astHash: string | undefined): ShownAnswer {
  const { provenance } = answer;
  const calls: ShownCall[] = answer.outcomes.map((outcome): ShownCall => {
    const member = members.get(outcome.model);
    const base = { model: outcome.model, sample: outcome.sample, host: member?.host ?? '', weight: member?.weight ?? 1 };
    switch (outcome.kind) {
      case 'answered': {
        const c = outcome.candidate;
        return { ...base, host: c.host, weight: c.weight, outcome: 'answered', candidate: c.text, latencyMs: c.latencyMs, prompt: c.prompt, meanLogprob: c.meanLogprob };
      }
      case 'filtered':
        return { ...base, outcome: 'filtered', latencyMs: outcome.latencyMs };
      case 'failed':
        return { ...base, host: outcome.error.host, outcome: outcome.error.kind === 'aborted' ? 'cancelled' : 'failed' };
      default:
        return { ...base, outcome: outcome.kind };
    }
  });
  return {
    id: answer.id,
    text: answer.text,
    context: answer.context,
    astHash,
    method: provenance.method,
    rule: provenance.rule,
    model: provenance.model,
    served: provenance.reused ?? 'model',
    latencyMs: provenance.latencyMs,
    calls,
  };
}
