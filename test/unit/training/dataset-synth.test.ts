import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, type ModelSetting } from '../../../server/config.js';
import { promptMessages } from '../../../server/engine/actions/prompts.js';
import { OllamaBackend } from '../../../server/models/ollama-backend.js';
import { formatSummary, synthesize, synthSettings, type SynthOptions } from '../../../server/training/dataset-synth.js';
import { domainOrder, SYNTH_DOMAINS } from '../../../server/training/synth-domains.js';
import { failure } from '../../support/backend-calls.js';
import { OllamaStub, type StubRule } from '../../support/ollama-stub.js';

const MODEL = 'qwen2.5-coder:7b';

/** A refactor answer in the form prompts/synth-refactor.md asks for. */
function pairAnswer(before: string, after: string, fence = 'ts', preamble = ''): string {
  return `${preamble}Before:\n\`\`\`${fence}\n${before}\n\`\`\`\n\nAfter:\n\`\`\`${fence}\n${after}\n\`\`\`\n`;
}

const A_BEFORE = 'function total(items: number[]): number {\n  let t = 0;\n  for (let i = 0; i < items.length; i++) { t = t + items[i]; }\n  return t;\n}';
const A_AFTER = 'function total(items: number[]): number {\n  return items.reduce((sum, item) => sum + item, 0);\n}';
/** A_BEFORE laid out differently: the same tokens. */
const A_WIDE = A_BEFORE.replace(/\n {2}/g, '\n    ');
const B_BEFORE = 'function isAdult(p: { age: number }): boolean {\n  if (p.age >= 18) { return true; } else { return false; }\n}';
const B_AFTER = 'function isAdult(p: { age: number }): boolean {\n  return p.age >= 18;\n}';

/** One topic per outcome: the rules answer by the topic named in the request. */
const SCRIPT: Record<string, string> = {
  'alpha topic': pairAnswer(A_BEFORE, A_AFTER, 'ts', 'Here is the example.\n\n'),
  'beta topic': pairAnswer(B_BEFORE, B_AFTER, 'typescript'),
  'gamma topic': pairAnswer('function f(a: number) {\n  return a + 1;\n}', 'function f(a: number {\n  return a + 1\n'),
  'delta topic': pairAnswer('function g(a: number) { return a * 2; }', 'function g(a: number) {\n  return a * 2;\n}'),
  'epsilon topic': 'I would rather not write code for this topic; a function here would be trivial.',
  // The alpha pair again, the code laid out differently: the same tokens, so the same example.
  'zeta topic': pairAnswer(A_WIDE, A_AFTER),
};
const TOPICS = Object.keys(SCRIPT);

const rules = (script: Record<string, string>): StubRule[] => Object.entries(script).map(([topic, answer]) => ({ messageIncludes: topic, answer }));

let stub: OllamaStub;
let models: ModelSetting[];

beforeEach(async () => {
  stub = new OllamaStub({ models: [{ name: MODEL, capabilities: ['completion'], rules: rules(SCRIPT), defaultAnswer: 'no topic matched' }] });
  await stub.start();
  models = [{ name: MODEL, provider: 'ollama', host: stub.url, weight: 1 }];
});

afterEach(async () => {
  await stub.stop();
});

const run = (options: Partial<SynthOptions>) =>
  synthesize({ task: 'refactor', count: 10, languageId: 'typescript', format: 'sft', seed: 7, models, settings: DEFAULT_SETTINGS, domains: TOPICS, maxAttempts: TOPICS.length, ...options });

/** The spec: the action's prompt (prompts/<task>.md) for the before code as one string, system + blank line + user. */
function expectedPrompt(task: 'refactor' | 'fix' | 'optimize' | 'explain', code: string, target: string, language = ['TypeScript', 'ts', 'example.ts'], diagnostics = ''): string {
  const [system, user] = promptMessages(task, { language: language[0]!, fence: language[1]!, file: language[2]!, target, code, context: '', diagnostics });
  return `${system!.content}\n\n${user!.content}`;
}

/** The topics the stub was asked about, in order. */
const askedTopics = (topics: readonly string[]) =>
  stub.chatRequests().map((r) => topics.find((t) => (r.body.messages as { content: string }[]).some((m) => m.content.includes(t))));

describe('xencode dataset synth: pairs from the chat models', () => {
  it('keeps the pairs that parse and differ, once each, and counts the rest by reason', async () => {
    const result = await run({});
    expect(result.problem).toBeUndefined();
    expect(result.summary).toMatchObject({ asked: 10, attempts: 6, kept: 2, syntaxChecked: true, models: [MODEL] });
    expect(result.summary.dropped).toEqual({ noCode: 1, syntaxError: 1, unchanged: 1, duplicate: 1, modelError: 0 });
    // Each topic once, in the seed's order.
    expect(askedTopics(TOPICS)).toEqual(domainOrder(7, TOPICS));
    // The first of alpha and zeta (the same example) is kept as it was written; rows in the order asked.
    const row = (before: string, after: string, name: string) => ({ prompt: expectedPrompt('refactor', before, `function ${name}`), completion: `\`\`\`ts\n${after}\n\`\`\`` });
    const kept = domainOrder(7, TOPICS).filter((t, i, all) => t === 'beta topic' || ((t === 'alpha topic' || t === 'zeta topic') && all.findIndex((u) => u === 'alpha topic' || u === 'zeta topic') === i));
    expect(result.rows).toEqual(kept.map((t) => (t === 'beta topic' ? row(B_BEFORE, B_AFTER, 'isAdult') : row(t === 'alpha topic' ? A_BEFORE : A_WIDE, A_AFTER, 'total'))));
    expect(formatSummary(result.summary).join('\n')).toMatch(/kept 2 of 10 refactor pairs .* after 6 requests; dropped: 1 without the two labelled code blocks, 1 with syntax errors, 1 unchanged \(same tokens\), 1 duplicates\nfell short by 8: the limit is 6 requests/);
  });

  it('stops at --count kept pairs', async () => {
    const good = { 'alpha topic': SCRIPT['alpha topic']!, 'beta topic': SCRIPT['beta topic']!, 'eta topic': pairAnswer(B_BEFORE.replace('18', '21'), B_AFTER.replace('18', '21')) };
    stub.model(MODEL)!.rules = rules(good);
    const result = await run({ count: 2, domains: Object.keys(good), maxAttempts: 8 });
    expect(result.rows).toHaveLength(2);
    expect(stub.chatRequests()).toHaveLength(2);
    expect(formatSummary(result.summary)).toHaveLength(1);
  });

  it('asks the topics in the order of the seed: reproducible, and another seed asks others first', async () => {
    const first = domainOrder(1);
    expect(domainOrder(1)).toEqual(first);
    expect([...first].sort()).toEqual([...SYNTH_DOMAINS].sort());
    expect(domainOrder(2)).not.toEqual(first);
    stub.model(MODEL)!.defaultAnswer = 'no code today';
    await run({ seed: 1, domains: undefined, maxAttempts: 3 });
    expect(askedTopics(SYNTH_DOMAINS)).toEqual(first.slice(0, 3));
  });

  it('dpo rows prefer the after code over the before code, both fenced', async () => {
    const result = await run({ format: 'dpo' });
    const row = result.rows.find((r) => r.prompt.includes('function isAdult'));
    expect(row).toEqual({ prompt: expectedPrompt('refactor', B_BEFORE, 'function isAdult'), chosen: `\`\`\`ts\n${B_AFTER}\n\`\`\``, rejected: `\`\`\`ts\n${B_BEFORE}\n\`\`\`` });
    expect(result.rows).toHaveLength(2);
  });

  it('fix: the model\'s "Bug:" sentence is the diagnostics of the fix prompt', async () => {
    const before = 'function last(xs: string[]): string {\n  return xs[xs.length];\n}';
    const after = 'function last(xs: string[]): string {\n  return xs[xs.length - 1];\n}';
    stub.model(MODEL)!.rules = rules({ 'alpha topic': `Bug: reads one past the end of the array.\n\n${pairAnswer(before, after)}` });
    const result = await run({ task: 'fix', domains: ['alpha topic'], maxAttempts: 1 });
    expect(stub.chatRequests()[0]!.body.messages[1].content).toContain('a code review catches');
    expect(result.rows).toEqual([{ prompt: expectedPrompt('fix', before, 'function last', undefined, '- reads one past the end of the array.'), completion: `\`\`\`ts\n${after}\n\`\`\`` }]);
  });

  it('explain: the function and its Markdown explanation; an answer without one is dropped', async () => {
    const code = 'const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));';
    const explanation = 'Clamps `x` into `[lo, hi]`:\n\n- `Math.max(lo, x)` raises it to `lo`\n- `Math.min(hi, …)` lowers it to `hi`';
    stub.model(MODEL)!.rules = rules({
      'alpha topic': `Function:\n\`\`\`ts\n${code}\n\`\`\`\n\nExplanation:\n${explanation}\n`,
      'beta topic': `Function:\n\`\`\`ts\n${B_BEFORE}\n\`\`\`\n\nExplanation:\n`,
    });
    const result = await run({ task: 'explain', domains: ['alpha topic', 'beta topic'], maxAttempts: 2 });
    expect(result.rows).toEqual([{ prompt: expectedPrompt('explain', code, 'function clamp'), completion: explanation }]);
    expect(result.summary.dropped.noCode).toBe(1);
  });

  it('a language without a grammar here is not syntax-checked, and says so', async () => {
    const before = 'def total(xs):\n    t = 0\n    for x in xs:\n        t += x\n    return t';
    stub.model(MODEL)!.rules = rules({ 'alpha topic': pairAnswer(before, 'def total(xs):\n    return sum(xs)', 'python') });
    const result = await run({ languageId: 'python', domains: ['alpha topic'], maxAttempts: 1 });
    expect(result.summary.syntaxChecked).toBe(false);
    expect(result.rows).toEqual([{ prompt: expectedPrompt('refactor', before, 'function total', ['Python', 'python', 'example.py']), completion: '```python\ndef total(xs):\n    return sum(xs)\n```' }]);
    expect(formatSummary(result.summary).join('\n')).toContain('no grammar for python here: the code was not checked for syntax errors');
  });

  const chatOnce = (model: string) =>
    new OllamaBackend({ model, host: stub.url, keepAlive: '30m' }).chat({ messages: [{ role: 'user', content: 'x' }], maxTokens: 8, signal: AbortSignal.timeout(5000) });

  it('an unreachable model ends the run with its BackendError message', async () => {
    await stub.goDown();
    const direct = await failure(chatOnce(MODEL));
    expect(direct.kind).toBe('unreachable');
    const result = await run({});
    expect(result.problem).toBe(direct.message);
    expect(result.rows).toEqual([]);
    expect(result.summary.attempts).toBe(1);
  });

  it('a model the server does not have ends the run with its message', async () => {
    const direct = await failure(chatOnce('no-such-model:1b'));
    expect(direct.kind).toBe('model-not-found');
    const result = await run({ models: [...models, { name: 'no-such-model:1b', provider: 'ollama', host: stub.url, weight: 1 }] });
    // The first model answered the first topic; the second request, to the missing model, ends the run.
    expect(result.problem).toBe(direct.message);
    expect(result.summary.attempts).toBe(2);
    expect(result.summary.models).toEqual([MODEL, 'no-such-model:1b']);
  });

  it('takes the models from the options, validated as settings are', () => {
    const chosen = synthSettings({ models: ['a:1b', 'b:7b'], host: 'gpu-box' }, {});
    expect('settings' in chosen && chosen.settings.models.map((m) => [m.name, m.provider, m.host])).toEqual([
      ['a:1b', 'ollama', 'http://gpu-box:11434'],
      ['b:7b', 'ollama', 'http://gpu-box:11434'],
    ]);
    const byDefault = synthSettings({ models: [] }, { OLLAMA_HOST: 'box:1234' });
    expect('settings' in byDefault && [byDefault.settings.models[0]!.name, byDefault.settings.ollama.host]).toEqual([DEFAULT_SETTINGS.models[0]!.name, 'http://box:1234']);
    expect(synthSettings({ models: ['m'], provider: 'openai' }, {})).toEqual({ problem: expect.stringContaining('--base-url') });
    expect(synthSettings({ models: ['m'], provider: 'vllm' }, {})).toEqual({ problem: expect.stringContaining('--provider must be') });
    expect(synthSettings({ models: ['m'], provider: 'openai', baseUrl: 'not a url' }, {})).toEqual({ problem: expect.stringContaining('is not a URL') });
  });
});
