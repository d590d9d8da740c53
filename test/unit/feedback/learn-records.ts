import { FEEDBACK_SCHEMA, type FeedbackRecord, type ModelRecord } from '../../../server/feedback/record.js';

export const HOST = 'http://127.0.0.1:11434';

/** One model's part: answered with `candidate` (weight 1, 100 ms, the default host) unless said otherwise. */
export function call(model: string, candidate: string | undefined, fields: Partial<ModelRecord> = {}): ModelRecord {
  return {
    model,
    host: HOST,
    sample: 0,
    outcome: candidate === undefined ? 'filtered' : 'answered',
    weight: 1,
    latencyMs: 100,
    ...(candidate === undefined ? {} : { candidate }),
    ...fields,
  };
}

let counter = 0;

/**
 * A full-level record served by the models. `kept` labels it: the user rejected it and typed `kept` there (the
 * capture, which `keptText` returns); without `kept` it is unlabelled (ignored, nothing captured).
 */
export function record(models: readonly ModelRecord[], options: { kept?: string; language?: string; time?: number; id?: string } & Partial<FeedbackRecord> = {}): FeedbackRecord {
  const { kept, language, time, id, ...rest } = options;
  counter++;
  const chosen = models.find((m) => m.candidate !== undefined)?.candidate ?? 'x';
  return {
    schema: FEEDBACK_SCHEMA,
    id: id ?? `r${String(counter).padStart(6, '0')}`,
    time: time ?? 1_700_000_000_000 + counter * 1000,
    language: language ?? 'python',
    file: 'src/a.py',
    method: 'hybrid',
    rule: 'agreement',
    chosenModel: models[0]?.model ?? 'none',
    chosen,
    chosenLength: chosen.length,
    served: 'model',
    latencyMs: 150,
    prompt: { prefix: 'def f():\n    ', suffix: '\n', header: '' },
    models,
    level: 'full',
    label: kept === undefined ? 'ignored' : 'rejected',
    ...(kept === undefined ? {} : { captured: kept, decidedAt: (time ?? 0) + 30_000, signal: 'typed-over' }),
    ...rest,
  };
}
