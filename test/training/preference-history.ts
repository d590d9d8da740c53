// A synthetic feedback history for training tests: at prompts `const sN = ` the user always keeps the single-quoted
// string `'sN';` and rejects `null;`, which another model offered. Time-ordered, like the store keeps them.
import type { FeedbackRecord } from '../../server/feedback/record.js';
import { accepted, model, rejected } from '../unit/feedback/records.js';

/** The FIM prompt the model saw (the tiny models' qwen-style tokens). */
export function fimPrompt(n: number): string {
  return `<|fim_prefix|>const s${n} = <|fim_suffix|>\n<|fim_middle|>`;
}

export function preferenceHistory(count: number, start = Date.UTC(2026, 10, 1)): FeedbackRecord[] {
  return Array.from({ length: count }, (_, n) => {
    const time = start + n * 60_000;
    const prompt = { prefix: `const s${n} = `, suffix: '\n', header: '' };
    const kept = `'s${n}';`;
    if (n % 4 === 3)
      return rejected({ time, prompt, chosen: 'null;', models: [model('a', { candidate: 'null;', prompt: fimPrompt(n) })] });
    // Accepted and kept (retention checked), beside a model that offered what the user does not want.
    return accepted({ time, prompt, chosen: kept, models: [model('a', { candidate: kept, prompt: fimPrompt(n) }), model('b', { candidate: 'null;', prompt: fimPrompt(n) })] }, 0, 0);
  });
}
