/**
 * Quality of the fusion methods, by simulation: a SAFIM-style fill-in-the-middle set built from real TypeScript
 * sources (dataset.ts), answered by simulated models (simulated-models.ts), fused by the real fusion code
 * (server/engine/fusion), scored against the ground truth. No real model runs: the numbers say how the fusion
 * algorithms behave on realistic candidate sets, not how good any model is.
 *
 * Metrics (per case, then averaged):
 * - exact match: the answer's stripped non-empty lines equal the truth's;
 * - edit similarity: 1 − levenshtein / max length on whitespace-normalised text (the fusion code's `similarity`);
 * - identifier F1: multiset F1 of the identifiers (keywords left out);
 * - parse-valid: the answer parses no worse than the code without it (the post-processing syntax checker);
 * - coverage: the share of cases answered. An abstention scores 0 on exact match, edit similarity and identifier
 *   F1 (the user got nothing); the "answered" columns average over answered cases only.
 * Differences to the best single model: paired bootstrap over cases, 1,000 resamples, seeded, 95 % percentile
 * intervals.
 */
import { fuse, lex, normalize, similarity, type FusionCandidate, type FusionResult } from '../../server/engine/fusion/index.js';
import { hybridEarly, hybridFinal } from '../../server/engine/fusion/hybrid.js';
import { checkerFor } from '../../server/engine/postprocess/syntax-check.js';
import { markdownTable, percentile } from '../stats.js';
import { buildFimCases, countByCategory, FIM_CATEGORIES, Rng, typescriptLanguage, type FimCase } from './dataset.js';
import { CORRUPTIONS, simulate, type SimModelSpec, type SimOutput, type SimulationSettings } from './simulated-models.js';

export interface QualityOptions {
  /** Cases in the set (balanced over categories). Default 600. */
  readonly cases?: number;
  /** Seed for the dataset selection, the simulated models and the bootstrap. Default 1. */
  readonly seed?: number;
}

/** The ensemble's deadline (ms): models later than this are not waited for. */
const DEADLINE_MS = 2000;
const BOOTSTRAP_RESAMPLES = 1000;
/** Self-consistency baseline: samples of the best model, at the ensemble's compute (three calls). */
const SAMPLES = 3;
const CONFIDENCE_WEIGHT = 0.3;

// ---------------------------------------------------------------------------------------------------------------
// Metrics

function strippedLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** Exact match: stripped, non-empty lines equal. */
export function exactMatch(answer: string, truth: string): boolean {
  const a = strippedLines(answer);
  const b = strippedLines(truth);
  return a.length === b.length && a.every((line, i) => line === b[i]);
}

const KEYWORDS = new Set(
  'as async await break case catch class const continue default delete do else export extends false finally for from function if import in instanceof interface let new null of return super switch this throw true try type typeof undefined var void while yield'.split(' '),
);

function identifiers(text: string): string[] {
  return lex(text)
    .tokens.filter((t) => t.kind === 'word' && !KEYWORDS.has(t.text) && !/^\d/.test(t.text))
    .map((t) => t.text);
}

/** Multiset F1 of identifiers; 1 when neither has any. */
export function identifierF1(answer: string, truth: string): number {
  const a = identifiers(answer);
  const b = identifiers(truth);
  if (a.length === 0 && b.length === 0) return 1;
  if (a.length === 0 || b.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const id of b) counts.set(id, (counts.get(id) ?? 0) + 1);
  let common = 0;
  for (const id of a) {
    const left = counts.get(id) ?? 0;
    if (left > 0) {
      common++;
      counts.set(id, left - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / a.length;
  const recall = common / b.length;
  return (2 * precision * recall) / (precision + recall);
}

// ---------------------------------------------------------------------------------------------------------------
// Methods

/** What a method gave for one case. */
interface Answer {
  /** null: abstained. */
  readonly text: string | null;
  /** When the answer was ready (ms after the request); NaN for the oracle. */
  readonly wallMs: number;
  /** Model answers waited for. */
  readonly waited: number;
  /** The fusion rule that answered ('agreement', 'prefix', 'plurality'…), when a fusion method answered. */
  readonly rule?: string;
}

/** One case, simulated: each model's answer (sample 0) and the best model's samples. */
interface CaseRun {
  readonly fim: FimCase;
  /** One per model, in configuration order. */
  readonly outputs: readonly SimOutput[];
  /** SAMPLES samples of the best model. */
  readonly samples: readonly SimOutput[];
  /** The post-processing syntax check: the text parses no worse than the code without it. */
  readonly accepts: (text: string) => boolean;
}

interface Method {
  readonly name: string;
  readonly kind: 'single' | 'samples' | 'fusion' | 'oracle';
  readonly run: (c: CaseRun, weights: ReadonlyMap<string, number>) => Answer;
}

function candidatesOf(outputs: readonly SimOutput[], weights: ReadonlyMap<string, number>): FusionCandidate[] {
  return outputs.map((o) => ({
    model: o.model,
    text: o.text,
    weight: weights.get(o.model) ?? 1,
    latencyMs: o.latencyMs,
    ...(o.meanLogprob !== undefined ? { meanLogprob: o.meanLogprob } : {}),
  }));
}

/** The candidates that arrived before the deadline, in arrival order. */
function arrivals(outputs: readonly SimOutput[], weights: ReadonlyMap<string, number>): FusionCandidate[] {
  return candidatesOf(outputs, weights)
    .filter((c) => c.latencyMs <= DEADLINE_MS)
    .sort((a, b) => a.latencyMs - b.latencyMs);
}

/** VOTE / WEIGHTED / CONSENSUS (+ROVER) wait for every model (or the deadline), then fuse. */
function waitAll(outputs: readonly SimOutput[], weights: ReadonlyMap<string, number>, decide: (arrived: FusionCandidate[]) => FusionResult | null): Answer {
  const arrived = arrivals(outputs, weights);
  const last = arrived.length === outputs.length ? Math.max(...arrived.map((c) => c.latencyMs)) : DEADLINE_MS;
  const result = arrived.length > 0 ? decide(arrived) : null;
  return { text: result?.text ?? null, wallMs: last, waited: arrived.length, ...(result ? { rule: result.rule } : {}) };
}

/** HYBRID: after each arrival, answer if two agree or one is confident; otherwise, at the end, WEIGHTED's pick or abstain. */
function hybrid(outputs: readonly SimOutput[], weights: ReadonlyMap<string, number>): Answer {
  const arrived = arrivals(outputs, weights);
  const totalWeight = outputs.reduce((sum, o) => sum + (weights.get(o.model) ?? 1), 0);
  for (let k = 1; k <= arrived.length; k++) {
    const arrivedWeight = arrived.slice(0, k).reduce((sum, c) => sum + c.weight, 0);
    const early = hybridEarly(arrived.slice(0, k), { outstandingWeight: totalWeight - arrivedWeight });
    if (early) return { text: early.text, wallMs: arrived[k - 1]!.latencyMs, waited: k, rule: early.rule };
  }
  const last = arrived.length === outputs.length ? (arrived[arrived.length - 1]?.latencyMs ?? DEADLINE_MS) : DEADLINE_MS;
  const pick = hybridFinal(arrived);
  return { text: pick?.text ?? null, wallMs: last, waited: arrived.length, rule: pick ? 'final' : 'abstain' };
}

function singleName(model: SimModelSpec): string {
  return `${model.name} (single model)`;
}

function methodsFor(models: readonly SimModelSpec[], best: SimModelSpec): Method[] {
  const singles: Method[] = models.map((m, i) => ({
    name: singleName(m),
    kind: 'single',
    run: (c) => ({ text: c.outputs[i]!.text, wallMs: c.outputs[i]!.latencyMs, waited: 1 }),
  }));
  return [
    ...singles,
    {
      name: `${best.name} ×${SAMPLES} samples, VOTE (self-consistency)`,
      kind: 'samples',
      run: (c, w) => waitAll(c.samples, w, (a) => fuse('vote', a)),
    },
    { name: 'VOTE', kind: 'fusion', run: (c, w) => waitAll(c.outputs, w, (a) => fuse('vote', a)) },
    { name: 'WEIGHTED', kind: 'fusion', run: (c, w) => waitAll(c.outputs, w, (a) => fuse('weighted', a)) },
    {
      name: `WEIGHTED + logprob (λ = ${CONFIDENCE_WEIGHT})`,
      kind: 'fusion',
      run: (c, w) => waitAll(c.outputs, w, (a) => fuse('weighted', a, { confidenceWeight: CONFIDENCE_WEIGHT })),
    },
    { name: 'CONSENSUS', kind: 'fusion', run: (c, w) => waitAll(c.outputs, w, (a) => fuse('consensus', a, { syntaxOk: c.accepts })) },
    { name: 'HYBRID', kind: 'fusion', run: (c, w) => hybrid(c.outputs, w) },
    {
      name: 'WEIGHTED + ROVER',
      kind: 'fusion',
      run: (c, w) => waitAll(c.outputs, w, (a) => fuse('weighted', a, { rover: { parsesNoWorse: (fused) => c.accepts(fused) } })),
    },
    { name: 'ORACLE (any model right)', kind: 'oracle', run: () => ({ text: null, wallMs: Number.NaN, waited: models.length }) },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Scoring

interface Scores {
  readonly em: Float64Array;
  readonly es: Float64Array;
  readonly f1: Float64Array;
  readonly answered: Uint8Array;
  /** 1 parses no worse, 0 worse, -1 abstained. */
  readonly parse: Int8Array;
  readonly wall: Float64Array;
  readonly waited: Float64Array;
  /** The rule that answered, per case ('' when none). */
  readonly rule: string[];
}

function newScores(n: number): Scores {
  return {
    em: new Float64Array(n),
    es: new Float64Array(n),
    f1: new Float64Array(n),
    answered: new Uint8Array(n),
    parse: new Int8Array(n),
    wall: new Float64Array(n),
    waited: new Float64Array(n),
    rule: new Array<string>(n).fill(''),
  };
}

interface Summary {
  readonly name: string;
  readonly kind: Method['kind'];
  readonly scores: Scores;
}

function mean(values: ArrayLike<number>, keep?: (i: number) => boolean): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    if (keep && !keep(i)) continue;
    sum += values[i]!;
    n++;
  }
  return n === 0 ? Number.NaN : sum / n;
}

/** Paired bootstrap of mean(a − b): the 95 % percentile interval and the observed difference. */
function bootstrap(a: ArrayLike<number>, b: ArrayLike<number>, rng: Rng): { diff: number; lo: number; hi: number } {
  const n = a.length;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = a[i]! - b[i]!;
  const means: number[] = [];
  for (let r = 0; r < BOOTSTRAP_RESAMPLES; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += d[rng.int(n)]!;
    means.push(sum / n);
  }
  means.sort((x, y) => x - y);
  return { diff: mean(d), lo: percentile(means, 2.5), hi: percentile(means, 97.5) };
}

interface Scenario {
  readonly title: string;
  readonly models: readonly SimModelSpec[];
  readonly settings: SimulationSettings;
}

interface ScenarioResult {
  readonly best: SimModelSpec;
  /** Per weighting (name → weights), the summaries of every method. */
  readonly runs: ReadonlyMap<string, readonly Summary[]>;
  readonly corruptionMix: Map<string, number>;
  readonly truthParses: number;
  /** Per case, each model's answer (sample 0), in configuration order. */
  readonly outputs: readonly (readonly SimOutput[])[];
}

function runScenario(cases: readonly FimCase[], scenario: Scenario, weightings: ReadonlyMap<string, ReadonlyMap<string, number>>): ScenarioResult {
  const { models, settings } = scenario;
  const best = [...models].sort((a, b) => b.p - a.p)[0]!;
  const methods = methodsFor(models, best);
  const language = typescriptLanguage();
  const runs = new Map<string, Summary[]>();
  for (const name of weightings.keys()) runs.set(name, methods.map((m) => ({ name: m.name, kind: m.kind, scores: newScores(cases.length) })));
  const corruptionMix = new Map<string, number>(CORRUPTIONS.map((k) => [k, 0]));
  let truthParses = 0;
  const allOutputs: SimOutput[][] = [];

  cases.forEach((fim, i) => {
    const checker = checkerFor(language, fim.prefix, fim.suffix);
    const parsed = new Map<string, boolean>();
    const accepts = (text: string): boolean => {
      let ok = parsed.get(text);
      if (ok === undefined) parsed.set(text, (ok = checker.accepts(text)));
      return ok;
    };
    if (accepts(fim.middle)) truthParses++;
    const outputs = models.map((m) => simulate(m, fim, 0, settings));
    allOutputs.push(outputs);
    const samples = Array.from({ length: SAMPLES }, (_, s) => simulate(best, fim, s, settings));
    for (const o of outputs) if (o.kind !== 'correct') corruptionMix.set(o.kind, corruptionMix.get(o.kind)! + 1);
    const run: CaseRun = { fim, outputs, samples, accepts };
    const oracleEm = outputs.some((o) => exactMatch(o.text, fim.middle)) ? 1 : 0;
    const oracleEs = Math.max(...outputs.map((o) => similarity(o.text, fim.middle)));
    const oracleF1 = Math.max(...outputs.map((o) => identifierF1(o.text, fim.middle)));

    for (const [name, weights] of weightings) {
      const summaries = runs.get(name)!;
      methods.forEach((method, k) => {
        const s = summaries[k]!.scores;
        if (method.kind === 'oracle') {
          s.em[i] = oracleEm;
          s.es[i] = oracleEs;
          s.f1[i] = oracleF1;
          s.answered[i] = 1;
          s.parse[i] = -1;
          s.wall[i] = Number.NaN;
          s.waited[i] = models.length;
          return;
        }
        const answer = method.run(run, weights);
        s.wall[i] = answer.wallMs;
        s.waited[i] = answer.waited;
        s.rule[i] = answer.rule ?? '';
        if (answer.text === null) {
          s.parse[i] = -1;
          return;
        }
        s.answered[i] = 1;
        s.em[i] = exactMatch(answer.text, fim.middle) ? 1 : 0;
        s.es[i] = similarity(answer.text, fim.middle);
        s.f1[i] = identifierF1(answer.text, fim.middle);
        s.parse[i] = accepts(answer.text) ? 1 : 0;
      });
    }
  });
  return { best, runs, corruptionMix, truthParses, outputs: allOutputs };
}

// ---------------------------------------------------------------------------------------------------------------
// Report

const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '—');
const dec = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '—');
const signedPct = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}`;
const signedDec = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
const interval = (b: { diff: number; lo: number; hi: number }, f: (x: number) => string): string => `${f(b.diff)} [${f(b.lo)}, ${f(b.hi)}]`;

function answeredMean(s: Scores, values: ArrayLike<number>): number {
  return mean(values, (i) => s.answered[i] === 1);
}

function parseRate(s: Scores): number {
  let ok = 0;
  let n = 0;
  for (let i = 0; i < s.parse.length; i++) {
    if (s.parse[i] === -1) continue;
    n++;
    ok += s.parse[i]!;
  }
  return n === 0 ? Number.NaN : ok / n;
}

function wallP50(s: Scores): number {
  const finite = Array.from(s.wall).filter(Number.isFinite).sort((a, b) => a - b);
  return percentile(finite, 50);
}

function mainTable(summaries: readonly Summary[]): string {
  const rows = summaries.map((m) => {
    const s = m.scores;
    const coverage = mean(s.answered);
    return [
      m.name,
      pct(mean(s.em)),
      dec(mean(s.es)),
      dec(mean(s.f1)),
      pct(coverage),
      pct(answeredMean(s, s.em)),
      dec(answeredMean(s, s.es)),
      m.kind === 'oracle' ? '—' : pct(parseRate(s)),
      m.kind === 'oracle' ? '—' : wallP50(s).toFixed(0),
      m.kind === 'oracle' ? '—' : mean(s.waited).toFixed(2),
    ];
  });
  return markdownTable(
    ['Method', 'Exact match', 'Edit sim.', 'Ident. F1', 'Coverage', 'EM (answered)', 'ES (answered)', 'Parse-valid (answered)', 'Wall p50 (ms)', 'Models waited'],
    rows,
  );
}

interface Comparison {
  readonly name: string;
  readonly em: { diff: number; lo: number; hi: number };
  readonly es: { diff: number; lo: number; hi: number };
}

function compare(summaries: readonly Summary[], baseline: Summary, seed: number): Comparison[] {
  return summaries
    .filter((m) => m !== baseline)
    .map((m) => {
      // One generator per comparison, seeded by its name: adding a method does not move the others' intervals.
      const rng = Rng.from(seed, 'bootstrap', m.name);
      const em = bootstrap(m.scores.em, baseline.scores.em, rng);
      const es = bootstrap(m.scores.es, baseline.scores.es, Rng.from(seed, 'bootstrap-es', m.name));
      return { name: m.name, em, es };
    });
}

function significance(b: { lo: number; hi: number }): 'better' | 'worse' | 'tied' {
  return b.lo > 0 ? 'better' : b.hi < 0 ? 'worse' : 'tied';
}

function modelTable(models: readonly SimModelSpec[], settings: SimulationSettings, weightings: ReadonlyMap<string, ReadonlyMap<string, number>>): string {
  const names = [...weightings.keys()];
  return markdownTable(
    ['Model', 'p (right)', 'Mean latency (ms)', ...names.map((n) => `Weight (${n})`), 'Shared-error rate', 'Logprobs'],
    models.map((m) => [
      m.name,
      m.p.toFixed(2),
      String(m.latencyMs),
      ...names.map((n) => String(weightings.get(n)!.get(m.name) ?? 1)),
      (m.sharedError ?? settings.sharedError ?? 0.3).toFixed(2),
      m.logprobs === false ? 'no' : 'yes',
    ]),
  );
}

function corruptionLine(mix: ReadonlyMap<string, number>): string {
  const total = [...mix.values()].reduce((a, b) => a + b, 0);
  return [...mix].map(([k, v]) => `${k} ${pct(v / Math.max(1, total))}`).join(', ');
}

function find(summaries: readonly Summary[], name: string): Summary {
  const s = summaries.find((m) => m.name === name);
  if (!s) throw new Error(`bench: no method ${name}`);
  return s;
}

/** Scenario A: three models of increasing size and cost. */
function scenarioA(seed: number): Scenario {
  return {
    title: 'Scenario A: three models of increasing size',
    models: [
      { name: 'small', p: 0.42, latencyMs: 50, weight: 0.8 },
      { name: 'medium', p: 0.52, latencyMs: 120, weight: 1 },
      { name: 'large', p: 0.6, latencyMs: 300, weight: 1.2 },
    ],
    settings: { seed, sharedError: 0.3 },
  };
}

/** Scenario B: one strong slow model and two weak fast ones that, when wrong, are often wrong the same way. */
function scenarioB(seed: number): Scenario {
  return {
    title: 'Scenario B: one strong model vs two weak ones that often make the same mistake',
    models: [
      { name: 'strong', p: 0.68, latencyMs: 300, weight: 2, sharedError: 0.1 },
      { name: 'weak-a', p: 0.36, latencyMs: 50, weight: 0.7, sharedError: 0.7 },
      { name: 'weak-b', p: 0.34, latencyMs: 70, weight: 0.7, sharedError: 0.7 },
    ],
    settings: { seed: seed + 1000, sharedError: 0.3 },
  };
}

export async function runQualityBenchmark(options: QualityOptions = {}): Promise<string> {
  const seed = options.seed ?? 1;
  const caseCount = options.cases ?? 600;
  const started = performance.now();
  const cases = buildFimCases({ seed, maxCases: caseCount, perFileCap: 8 });
  const counts = countByCategory(cases);
  const files = new Set(cases.map((c) => `${c.repo}/${c.path}`)).size;
  const out: string[] = [];

  out.push('## Quality (simulation)');
  out.push('');
  out.push(
    '> **Simulation.** No real model was run. Simulated models answer real fill-in-the-middle cases: each returns the ' +
      'ground truth with its probability p, otherwise a realistic corruption of it. The real fusion code ' +
      '(`server/engine/fusion`) fuses their answers. These numbers show how the fusion algorithms behave on ' +
      'realistic candidate sets under stated assumptions; they say nothing about how good any real model is.',
  );
  out.push('');
  out.push(
    `**Dataset.** ${cases.length} SAFIM-style cases from ${files} real TypeScript files (zod's \`src/v3\` and \`src/v4\` ` +
      'without tests and locales, plus the ollama and @jridgewell/sourcemap-codec sources in node_modules), built with ' +
      'tree-sitter-typescript 0.23.2 from files that parse without errors. By category: ' +
      FIM_CATEGORIES.map((c) => `${c} ${counts[c]}`).join(', ') +
      ' (block = a `statement_block` body; control = an `if`/`while`/`do`/`for` or ternary condition; call = a ' +
      '`call_expression` or its arguments; line = a node that is one whole line; multiline = a statement of 2–15 ' +
      'lines). Middles under 3 non-blank characters or over 15 lines are dropped; windows of ~4,000 characters ' +
      `before and ~2,000 after; at most 8 cases per file and category; seed ${seed}.`,
  );
  out.push('');
  out.push(
    '**Simulated models.** Correctness is a latent Gaussian model: z = √0.35·h(case) + √0.25·g(case, model) + ' +
      '√0.40·e(sample), right when z < Φ⁻¹(p). So each model returns the ground truth verbatim with probability p; ' +
      'different models fail together on hard cases (latent correlation 0.35) and samples of one model more so ' +
      "(0.60). A wrong model gives the case's one plausible wrong answer (shared by all models) with its shared-error " +
      'rate, else its own habitual mistake for the case (40 %, repeated across its samples), else a fresh one. ' +
      'Corruptions: truncated at a token boundary, a wrong identifier (another one from around the cursor), an extra ' +
      'line (the next suffix line, i.e. over-generation, or a prefix line), a missing line, a wrong literal or ' +
      'operator, or an equivalent but differently formatted text (re-indented lines or a trailing space still match ' +
      'exactly, which is why measured EM exceeds p; changed spacing or joined/split lines do not). Latency: the mean × ' +
      'log-normal jitter (σ 0.35). Mean log-probability: about −0.12 when right, −0.45 when wrong, lower on hard ' +
      `cases, noisy (HYBRID trusts a lone answer at exp(meanLogprob) ≥ 0.9). Deadline ${DEADLINE_MS} ms.`,
  );
  out.push('');
  out.push(
    '**Metrics.** Exact match (EM): stripped non-empty lines equal. Edit similarity (ES): `1 − levenshtein / max ' +
      'length` on whitespace-normalised text (runs of whitespace → one space, trimmed; the same `similarity` the ' +
      'fusion methods use), so a re-formatting that only moves whitespace scores 1 on ES but may miss EM. Identifier ' +
      'F1: multiset F1 of identifiers. An abstention scores 0 on EM, ES and F1 (the user got nothing); coverage is ' +
      'the share answered and the "(answered)" columns average over answered cases only. Parse-valid: the answer ' +
      'parses no worse than the code without it (the post-processing syntax checker; CONSENSUS and ROVER get the same ' +
      'check as `syntaxOk` / `parsesNoWorse`). Wall time: when the answer was ready (single model: its latency; ' +
      'VOTE/WEIGHTED/CONSENSUS/ROVER: the last arrival; HYBRID: the arrival that decided). Self-consistency draws 3 ' +
      'samples of the best model, independent given the case, run in parallel, and fuses them with VOTE: the same ' +
      'three calls as the ensemble. Candidates reach the fusion methods in arrival order, as in the engine.',
  );
  out.push('');

  // Scenario A.
  const scenario1 = scenarioA(seed);
  const weights1 = new Map([['configured', new Map(scenario1.models.map((m) => [m.name, m.weight]))]]);
  const a = runScenario(cases, scenario1, weights1);
  const aSummaries = a.runs.get('configured')!;
  const bestA = [...aSummaries.filter((m) => m.kind === 'single')].sort((x, y) => mean(y.scores.em) - mean(x.scores.em))[0]!;
  const compA = compare(aSummaries, bestA, seed);

  out.push(`### ${scenario1.title}`);
  out.push('');
  out.push(modelTable(scenario1.models, scenario1.settings, weights1));
  out.push('');
  out.push(
    `Wrong answers by corruption: ${corruptionLine(a.corruptionMix)}. Ground truth parse-valid under the checker: ` +
      `${pct(a.truthParses / cases.length)}.`,
  );
  out.push('');
  out.push(mainTable(aSummaries));
  out.push('');
  out.push(`Difference to the best single model (**${bestA.name}**), paired bootstrap over cases, ${BOOTSTRAP_RESAMPLES} resamples, 95 % interval:`);
  out.push('');
  out.push(
    markdownTable(
      ['Method', 'Δ exact match (points)', 'Δ edit similarity'],
      compA.map((c) => [c.name, interval(c.em, signedPct), interval(c.es, signedDec)]),
    ),
  );
  out.push('');
  out.push('Exact match by category:');
  out.push('');
  const byCategoryNames = [bestA.name, ...aSummaries.filter((m) => m.kind !== 'single').map((m) => m.name)];
  out.push(
    markdownTable(
      ['Method', ...FIM_CATEGORIES],
      byCategoryNames.map((name) => {
        const s = find(aSummaries, name).scores;
        return [name, ...FIM_CATEGORIES.map((cat) => pct(mean(s.em, (i) => cases[i]!.category === cat)))];
      }),
    ),
  );
  out.push('');

  // Scenario B.
  const scenario2 = scenarioB(seed);
  const weights2 = new Map([
    ['equal', new Map(scenario2.models.map((m) => [m.name, 1]))],
    ['by strength', new Map(scenario2.models.map((m) => [m.name, m.weight]))],
  ]);
  const b = runScenario(cases, scenario2, weights2);
  const equal = b.runs.get('equal')!;
  const strength = b.runs.get('by strength')!;
  const strongB = find(strength, singleName(scenario2.models[0]!));
  let pairWrong = 0;
  let pairRight = 0;
  b.outputs.forEach((outputs, i) => {
    const truth = cases[i]!.middle;
    const [strong, weakA, weakB] = outputs.map((o) => o.text);
    const weakAgree = normalize(weakA!) === normalize(weakB!);
    if (exactMatch(strong!, truth) && weakAgree && !exactMatch(weakA!, truth)) pairWrong++;
    if (!exactMatch(strong!, truth) && weakAgree && exactMatch(weakA!, truth)) pairRight++;
  });
  out.push(`### ${scenario2.title}`);
  out.push('');
  out.push(modelTable(scenario2.models, scenario2.settings, weights2));
  out.push('');
  out.push(
    'The two weak models are fast and, when both are wrong, often wrong the same way (shared-error rate 0.7). Same ' +
      'cases, same simulated answers; only the weights given to the fusion methods differ. With weights 2 / 0.7 / 0.7 ' +
      "an agreeing weak pair (1.4) can never outweigh the strong model, so WEIGHTED follows the strong model. In this set the strong model is right while the two weak ones agree on the same wrong answer in " +
      `${pairWrong} cases (${pct(pairWrong / cases.length)}), and wrong while the two weak ones agree on the right answer in ${pairRight} (${pct(pairRight / cases.length)}): ` +
      'that balance decides whether weighting by strength pays.',
  );
  out.push('');
  const rowsB = strength.map((m) => {
    const w = m.scores;
    const e = find(equal, m.name).scores;
    const byWeights = m.kind === 'fusion' ? interval(bootstrap(w.em, e.em, Rng.from(seed, 'weights', m.name)), signedPct) : '—';
    const vsStrong = m === strongB ? '—' : interval(bootstrap(w.em, strongB.scores.em, Rng.from(seed, 'strong', m.name)), signedPct);
    return [m.name, pct(mean(e.em)), pct(mean(w.em)), dec(mean(e.es)), dec(mean(w.es)), pct(mean(e.answered)), pct(mean(w.answered)), pct(answeredMean(w, w.em)), byWeights, vsStrong];
  });
  out.push(
    markdownTable(
      ['Method', 'EM, equal weights', 'EM, weights 2/0.7/0.7', 'ES, equal', 'ES, by strength', 'Coverage, equal', 'Coverage, by strength', 'EM (answered), by strength', 'Δ EM by strength − equal (points)', 'Δ EM vs strong, by strength (points)'],
      rowsB,
    ),
  );
  out.push('');

  out.push('### Verdict (simulation)');
  out.push('');
  out.push(...verdictA(aSummaries, bestA, compA, seed).map((line) => `- ${line}`));
  out.push(...verdictB(equal, strength, strongB, seed).map((line) => `- ${line}`));
  out.push('');
  out.push('### Caveats');
  out.push('');
  out.push(
    ...[
      'Every wrong answer here is a local edit of the ground truth (one identifier, one literal, one line, a cut). ' +
        'Real models also produce structurally different answers, where per-token voting has less to repair: the gains ' +
        'of ROVER (and of fusion in general) are likely overstated. The ordering of the methods (ROVER > WEIGHTED + logprob > VOTE ≈ WEIGHTED ≈ self-consistency > HYBRID > CONSENSUS > best single model) held for seeds 1–4.',
      'Mean log-probabilities are well calibrated by construction (right ≈ −0.12, wrong ≈ −0.45). Real models are ' +
        'often confidently wrong, so the logprob mix and HYBRID\'s "confident" exit should be re-measured on real models.',
      'Self-consistency samples are assumed as accurate as the model\'s greedy answer; sampling at a temperature usually ' +
        'costs some per-sample accuracy. Its wall time assumes the three samples run in parallel.',
      'Latency is independent of the case and of load: three models sharing one GPU slow each other down, which the ' +
        'wall-time columns ignore.',
      'Simulated answers are taken as already post-processed candidates; the post-processing pipeline is not run on ' +
        'them (it would cut or drop some truncated and over-generated answers before fusion).',
      'A model\'s p does not depend on the category; differences between categories come only from which corruptions ' +
        'apply (a one-line middle cannot lose a line). The set is dominated by zod (two versions of one library).',
      'Results move by a few points with the seed (`--seed`); the 95 % intervals are over cases for one simulated draw, ' +
        'not over the simulation\'s parameters.',
    ].map((line) => `- ${line}`),
  );
  out.push('');
  out.push(`_${cases.length} cases × 2 scenarios; computed in ${((performance.now() - started) / 1000).toFixed(1)} s._`);
  return out.join('\n');
}

function describe(b: { diff: number; lo: number; hi: number }): string {
  return `${interval(b, signedPct)} points`;
}

/** A single model's summary name, as the model's name ('large (single model)' → 'large'). */
function label(summary: Summary): string {
  return summary.name.replace(/ \(single model\)$/, '');
}

function ruleShare(s: Scores, rule: string): number {
  return s.rule.filter((r) => r === rule).length / s.rule.length;
}

function verdictA(summaries: readonly Summary[], best: Summary, comparisons: readonly Comparison[], seed: number): string[] {
  const lines: string[] = [];
  const bestEm = mean(best.scores.em);
  const fusion = comparisons.filter((c) => find(summaries, c.name).kind === 'fusion');
  const better = fusion.filter((c) => significance(c.em) === 'better');
  const worse = fusion.filter((c) => significance(c.em) === 'worse');
  const tied = fusion.filter((c) => significance(c.em) === 'tied');
  const top = [...fusion].sort((x, y) => y.em.diff - x.em.diff)[0]!;
  lines.push(
    `**Scenario A: fusion ${better.length > 0 ? 'beats' : 'does not beat'} the best single model.** ${label(best)} alone: ${pct(bestEm)} exact match. ` +
      (better.length > 0 ? `Significantly better on EM (95 % CI above 0): ${better.map((c) => `${c.name} (${signedPct(c.em.diff)})`).join(', ')}; the best is ${top.name}, ${describe(top.em)}. ` : '') +
      (tied.length > 0 ? `Not significantly different: ${tied.map((c) => c.name).join(', ')}. ` : '') +
      (worse.length > 0 ? `Significantly worse: ${worse.map((c) => c.name).join(', ')}.` : ''),
  );
  lines[lines.length - 1] = lines[lines.length - 1]!.trimEnd();
  const sc = summaries.find((m) => m.kind === 'samples')!;
  const scCmp = comparisons.find((c) => c.name === sc.name)!;
  const vote = find(summaries, 'VOTE');
  const voteVsSc = bootstrap(vote.scores.em, sc.scores.em, Rng.from(seed, 'vote-vs-sc'));
  lines.push(
    `Self-consistency at equal compute (three samples of the best model, VOTE) gets ${pct(mean(sc.scores.em))} (${describe(scCmp.em)} vs ${label(best)} alone); ` +
      `VOTE over the three different models gets ${pct(mean(vote.scores.em))} (${describe(voteVsSc)} vs self-consistency). ` +
      'Samples of one model fail together more often (same weaknesses, habitual mistakes) but each is as strong as the best model; ' +
      'the ensemble mixes in weaker but more independent voters, and it is faster (the slowest member sets its wall time, not the slowest of three samples).',
  );
  const cons = find(summaries, 'CONSENSUS').scores;
  const consCmp = comparisons.find((c) => c.name === 'CONSENSUS')!;
  const agreement = cons.rule.map((r) => r === 'agreement');
  const prefix = cons.rule.map((r) => r === 'prefix');
  const emWhole = mean(cons.em, (i) => agreement[i]!);
  const emPrefix = mean(cons.em, (i) => prefix[i]!);
  const esPrefix = mean(cons.es, (i) => prefix[i]!);
  const sig = significance(consCmp.em);
  lines.push(
    `**CONSENSUS** answers ${pct(mean(cons.answered))} of cases (abstains on ${pct(1 - mean(cons.answered))}): ` +
      (sig === 'better' ? 'even with every abstention counted as a miss it is above' : sig === 'worse' ? 'with every abstention counted as a miss it is below' : 'with every abstention counted as a miss it is level with') +
      ` ${label(best)} alone (${describe(consCmp.em)})` +
      (mean(cons.em) < Math.min(mean(vote.scores.em), mean(find(summaries, 'WEIGHTED').scores.em)) ? ', and below VOTE and WEIGHTED, which always answer. ' : '. ') +
      'It trades coverage for accuracy: ' +
      `when two models agree it answers whole (${pct(ruleShare(cons, 'agreement'))} of cases) and is then right ${pct(emWhole)} of the time, against ${pct(bestEm)} for ${label(best)}; ` +
      `otherwise it answers only the prefix a weighted majority shares (${pct(ruleShare(cons, 'prefix'))} of cases: ${pct(emPrefix)} exact, edit similarity ${dec(esPrefix)}) or nothing. ` +
      `Accuracy when answering, all answers together: ${pct(answeredMean(cons, cons.em))}. The partial prefixes pull that figure down; they are a feature for the user (a correct start, no wrong tail), not for exact match.`,
  );
  const hyb = find(summaries, 'HYBRID').scores;
  const hybCmp = comparisons.find((c) => c.name === 'HYBRID')!;
  const weightedS = find(summaries, 'WEIGHTED').scores;
  const hybVsW = bootstrap(hyb.em, weightedS.em, Rng.from(seed, 'hybrid-vs-weighted'));
  lines.push(
    `**HYBRID**: ${pct(mean(hyb.em))} EM (${describe(hybCmp.em)} vs ${label(best)}; ${describe(hybVsW)} vs WEIGHTED) with a median wall time of ${wallP50(hyb).toFixed(0)} ms ` +
      `and ${mean(hyb.waited).toFixed(2)} of 3 models waited for, against ${wallP50(weightedS).toFixed(0)} ms for the methods that wait for every model ` +
      `(early answers: ${pct(ruleShare(hyb, 'agreement'))} by agreement, ${pct(ruleShare(hyb, 'confident'))} by one confident model). ` +
      (hybVsW.diff < 0
        ? 'It gives up some accuracy for speed: an early agreement of the fast models is sometimes a shared mistake the slow model would have outvoted, and a confident lone answer is sometimes wrong.'
        : 'Answering early cost no accuracy here.'),
  );
  const roverVsWeighted = bootstrap(find(summaries, 'WEIGHTED + ROVER').scores.em, weightedS.em, Rng.from(seed, 'rover-vs-weighted'));
  const lpVsWeighted = bootstrap(find(summaries, `WEIGHTED + logprob (λ = ${CONFIDENCE_WEIGHT})`).scores.em, weightedS.em, Rng.from(seed, 'lp-vs-weighted'));
  lines.push(
    `**ROVER** on top of WEIGHTED: ${describe(roverVsWeighted)} vs WEIGHTED alone — per-slot voting repairs a wrong identifier, literal or a truncation that only one model made. ` +
      `Mixing in the mean token probability (λ = ${CONFIDENCE_WEIGHT}): ${describe(lpVsWeighted)} vs WEIGHTED. Both gains depend on the simulation's assumptions (see the caveats).`,
  );
  const oracle = summaries.find((m) => m.kind === 'oracle')!;
  const topEm = mean(find(summaries, top.name).scores.em);
  const oracleEm = mean(oracle.scores.em);
  lines.push(
    `Headroom: the oracle (any model's whole answer right) reaches ${pct(oracleEm)}; ${top.name} ` +
      (topEm > oracleEm
        ? `(${pct(topEm)}) goes past it: token-level fusion assembles right answers that no model gave whole, which a pick among whole answers cannot.`
        : `closes ${pct((topEm - bestEm) / Math.max(1e-9, oracleEm - bestEm))} of the gap between ${label(best)} alone and the oracle.`),
  );
  return lines;
}

function verdictB(equal: readonly Summary[], strength: readonly Summary[], strong: Summary, seed: number): string[] {
  const lines: string[] = [];
  const strongEm = mean(strong.scores.em);
  const effect = (name: string) => bootstrap(find(strength, name).scores.em, find(equal, name).scores.em, Rng.from(seed, 'weights', name));
  const methods = strength.filter((m) => m.kind === 'fusion').map((m) => m.name);
  const helped = methods.filter((n) => significance(effect(n)) === 'better');
  const hurt = methods.filter((n) => significance(effect(n)) === 'worse');
  const same = methods.filter((n) => significance(effect(n)) === 'tied');
  const vsStrong = (name: string) => bootstrap(find(strength, name).scores.em, strong.scores.em, Rng.from(seed, 'strong', name));
  const beatStrong = methods.filter((n) => significance(vsStrong(n)) === 'better');
  const belowStrong = methods.filter((n) => significance(vsStrong(n)) === 'worse');
  const sc = strength.find((m) => m.kind === 'samples')!;
  lines.push(
    `**Scenario B: weights matter${helped.length === 0 && hurt.length === 0 ? ' little here' : ''}.** Weighting the strong model 2 against 0.7 + 0.7 ` +
      (helped.length > 0 ? `raises EM significantly for ${helped.map((n) => `${n} (${describe(effect(n))})`).join(', ')}` : 'raises EM significantly for no method') +
      (hurt.length > 0 ? `, lowers it for ${hurt.map((n) => `${n} (${describe(effect(n))})`).join(', ')}` : '') +
      (same.length > 0 ? `; no significant change for ${same.join(', ')}` : '') +
      `. VOTE uses weights only to break ties, so an agreeing weak pair still outvotes the strong model; WEIGHTED with these weights simply follows the strong model (${pct(mean(find(strength, 'WEIGHTED').scores.em))} vs ${pct(strongEm)} alone).`,
  );
  lines.push(
    `Against the strong model alone (${pct(strongEm)}): ` +
      (beatStrong.length > 0 ? `better with ${beatStrong.map((n) => `${n} (${describe(vsStrong(n))})`).join(', ')}` : 'no fusion method is significantly better') +
      (belowStrong.length > 0 ? `; worse with ${belowStrong.map((n) => `${n} (${describe(vsStrong(n))})`).join(', ')}` : '') +
      `. Picking a whole answer by similarity gains nothing from two weak, correlated partners (WEIGHTED at best follows the strong model); only the confidence mix and token-level repair add something, ` +
      `and methods that count agreeing voters lose to the strong model alone (the UniTE/GaC warning: a weak partner can hurt). Sampling the strong model three times does better than any of them (${pct(mean(sc.scores.em))}).`,
  );
  const hyb = find(strength, 'HYBRID').scores;
  const hybEq = find(equal, 'HYBRID').scores;
  const earlyPair = (i: number) => hyb.rule[i] === 'agreement' && hyb.waited[i] === 2;
  const earlyShare = Array.from(hyb.rule.keys()).filter(earlyPair).length / hyb.rule.length;
  const eqEarlyPair = (i: number) => hybEq.rule[i] === 'agreement' && hybEq.waited[i] === 2;
  const eqEarlyShare = Array.from(hybEq.rule.keys()).filter(eqEarlyPair).length / hybEq.rule.length;
  lines.push(
    `HYBRID lets an early agreement stand only when the agreeing weight exceeds the weight still running. With equal weights the two weak models' agreement ends the wait in ${pct(eqEarlyShare)} of cases ` +
      `(right ${pct(mean(hybEq.em, eqEarlyPair))} of the time, against ${pct(mean(strong.scores.em, eqEarlyPair))} for the strong model on the same cases); with weights by strength 0.7 + 0.7 no longer outweighs 2, ` +
      `so it waits for the strong model (early pair answers: ${pct(earlyShare)}). Overall HYBRID gets ${pct(mean(hyb.em))} EM with weights by strength (${pct(mean(hybEq.em))} with equal weights) vs ${pct(strongEm)} for the strong model alone.`,
  );
  return lines;
}
