/**
 * Simulated completion models for the quality benchmark (a simulation: no real model is run).
 *
 * For a case and a model, the output is the ground truth with the model's probability `p`, otherwise a realistic
 * corruption of it — truncated at a token boundary, one identifier replaced by another seen around the cursor, an
 * extra line (the suffix's next line, i.e. over-generation, or a line from the prefix), a missing line, a wrong
 * literal or operator (off by one, `<` for `<=`, `true` for `false`), or the same code formatted differently.
 *
 * Correctness comes from a latent Gaussian model, so each model's marginal accuracy is exactly `p` while errors
 * are correlated the way real models' are:
 *   z = √ρ·h(case) + √ρm·g(case, model) + √(1 − ρ − ρm)·e(case, model, sample),   correct ⇔ z < Φ⁻¹(p)
 * h is the case's hardness shared by all models (weak models fail on the same hard cases), g a per-model hardness
 * shared by that model's samples (self-consistency samples are more alike than different models), e the sample's
 * own noise. Wrong answers are correlated too: a failing model gives the case's one "plausible wrong answer"
 * (shared by every model) with probability `sharedError`, else its own habitual mistake for the case (shared by its
 * samples) with probability `habit`, else a fresh corruption.
 *
 * Latency: mean × a log-normal jitter (σ = `jitter`, mean preserved). Mean log-probability (when `logprobs`): higher
 * when right, lower on hard cases, noisy — so exp(meanLogprob) ≥ 0.9 ("confident") is mostly, not always, right.
 * Every draw is keyed by (seed, case, model, sample): the same inputs always give the same output.
 */
import { lex, type Token } from '../../server/engine/fusion/index.js';
import { Rng, type FimCase } from './dataset.js';

export interface SimModelSpec {
  readonly name: string;
  /** Probability of returning the ground truth exactly. */
  readonly p: number;
  /** Mean latency, ms. */
  readonly latencyMs: number;
  /** Log-normal σ of the latency jitter. Default 0.35. */
  readonly jitter?: number;
  /** The model's weight in the ensemble. */
  readonly weight: number;
  /** Whether the model reports a mean log-probability. Default true. */
  readonly logprobs?: boolean;
  /** When wrong, the probability of giving the case's shared plausible wrong answer. Default: the simulation's. */
  readonly sharedError?: number;
}

export interface SimulationSettings {
  readonly seed: number;
  /** ρ: the share of latent variance from the case's hardness, common to all models. Default 0.35. */
  readonly caseCorrelation?: number;
  /** ρm: the share from the model's own hardness on the case, common to its samples. Default 0.25. */
  readonly modelCorrelation?: number;
  /** Default `sharedError` for models that do not set one. Default 0.3. */
  readonly sharedError?: number;
  /** When wrong and not shared, the probability of the model's habitual mistake (same across its samples). Default 0.4. */
  readonly habit?: number;
}

export const CORRUPTIONS = ['truncated', 'identifier', 'extra-line', 'missing-line', 'literal', 'format'] as const;
export type Corruption = (typeof CORRUPTIONS)[number];

export interface SimOutput {
  readonly model: string;
  readonly sample: number;
  readonly text: string;
  /** 'correct' (the ground truth) or the corruption applied. */
  readonly kind: 'correct' | Corruption;
  readonly latencyMs: number;
  readonly meanLogprob?: number;
}

/** A stable key for a case: where its middle lies. */
export function caseKey(fim: FimCase): string {
  return `${fim.repo}:${fim.path}:${fim.startOffset}:${fim.endOffset}`;
}

/** Φ⁻¹ (Acklam's rational approximation; relative error below 1.2e-9). */
export function inverseNormal(p: number): number {
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** Simulates one model's answer (one sample) to one case. */
export function simulate(model: SimModelSpec, fim: FimCase, sample: number, settings: SimulationSettings): SimOutput {
  const key = caseKey(fim);
  const seed = settings.seed;
  const rho = settings.caseCorrelation ?? 0.35;
  const rhoM = settings.modelCorrelation ?? 0.25;
  const hardness = Rng.from(seed, 'hard', key).normal();
  const own = Rng.from(seed, 'model-hard', model.name, key).normal();
  const rng = Rng.from(seed, 'sample', model.name, key, sample);
  const z = Math.sqrt(rho) * hardness + Math.sqrt(rhoM) * own + Math.sqrt(Math.max(0, 1 - rho - rhoM)) * rng.normal();
  const correct = z < inverseNormal(model.p);

  let text = fim.middle;
  let kind: SimOutput['kind'] = 'correct';
  if (!correct) {
    const u = rng.next();
    const shared = model.sharedError ?? settings.sharedError ?? 0.3;
    const habit = settings.habit ?? 0.4;
    const source = u < shared ? Rng.from(seed, 'shared-error', key) : u < shared + (1 - shared) * habit ? Rng.from(seed, 'habit', model.name, key) : Rng.from(seed, 'fresh', model.name, key, sample);
    ({ text, kind } = corrupt(fim, source));
  }

  const sigma = model.jitter ?? 0.35;
  const latencyMs = model.latencyMs * Math.exp(sigma * rng.normal() - (sigma * sigma) / 2);
  if (model.logprobs === false) return { model: model.name, sample, text, kind, latencyMs };
  // Right answers are surer than wrong ones; equivalent formatting is nearly as sure; hard cases lower everything.
  const centre = kind === 'correct' ? -0.12 : kind === 'format' ? -0.18 : -0.45;
  const spread = kind === 'correct' || kind === 'format' ? 0.08 : 0.18;
  const meanLogprob = Math.min(-0.001, centre - 0.04 * hardness + spread * rng.normal());
  return { model: model.name, sample, text, kind, latencyMs, meanLogprob };
}

// ---------------------------------------------------------------------------------------------------------------
// Corruptions

const KEYWORDS = new Set(
  (
    'abstract any as async await boolean break case catch class const constructor continue debugger declare default delete do else ' +
    'enum export extends false finally for from function get if implements import in infer instanceof interface is keyof let module ' +
    'namespace never new null number object of private protected public readonly return satisfies set static string super switch ' +
    'symbol this throw true try type typeof undefined unique unknown var void while with yield bigint'
  ).split(' '),
);

const CORRUPTION_WEIGHTS: readonly [Corruption, number][] = [
  ['truncated', 0.22],
  ['identifier', 0.26],
  ['extra-line', 0.14],
  ['missing-line', 0.1],
  ['literal', 0.16],
  ['format', 0.12],
];

/**
 * A corruption of the case's middle that differs from it (as text). The kind is drawn by CORRUPTION_WEIGHTS; a kind
 * that does not apply to this middle (no identifier to replace, a single line…) is struck out and the kind drawn
 * again among the rest, so the mix stays close to the weights. Deterministic for the generator's state.
 */
export function corrupt(fim: FimCase, rng: Rng): { text: string; kind: Corruption } {
  const left = [...CORRUPTION_WEIGHTS];
  while (left.length > 0) {
    let u = rng.next() * left.reduce((sum, [, w]) => sum + w, 0);
    let k = 0;
    while (k < left.length - 1 && u >= left[k]![1]) u -= left[k++]![1];
    const kind = left[k]![0];
    const text = apply(kind, fim, rng);
    if (text !== null && text !== fim.middle && text.trim() !== '') return { text, kind };
    left.splice(k, 1);
  }
  return { text: extraLine(fim, rng), kind: 'extra-line' };
}

function apply(kind: Corruption, fim: FimCase, rng: Rng): string | null {
  switch (kind) {
    case 'truncated':
      return truncate(fim.middle, rng);
    case 'identifier':
      return wrongIdentifier(fim, rng);
    case 'extra-line':
      return extraLine(fim, rng);
    case 'missing-line':
      return missingLine(fim.middle, rng);
    case 'literal':
      return wrongLiteral(fim.middle, rng);
    case 'format':
      return reformat(fim.middle, rng);
  }
}

function tokenStart(token: Token): number {
  return token.end - token.text.length;
}

/** Stops early: the text up to a token boundary between 30 % and 90 % of its tokens. */
function truncate(middle: string, rng: Rng): string | null {
  const tokens = lex(middle).tokens;
  if (tokens.length < 2) return null;
  const k = Math.min(tokens.length - 1, Math.max(1, Math.floor(tokens.length * (0.3 + 0.6 * rng.next()))));
  return middle.slice(0, tokens[k - 1]!.end);
}

function isIdentifier(token: Token): boolean {
  return token.kind === 'word' && !KEYWORDS.has(token.text) && !/^\d/.test(token.text);
}

/** One identifier replaced by another one seen near the cursor (the nearer part of the prefix and suffix). */
function wrongIdentifier(fim: FimCase, rng: Rng): string | null {
  const middle = fim.middle;
  const targets = lex(middle).tokens.filter(isIdentifier);
  if (targets.length === 0) return null;
  const target = rng.pick(targets);
  const nearby = lex(fim.prefix.slice(-3000) + '\n' + fim.suffix.slice(0, 1000)).tokens.filter(isIdentifier).map((t) => t.text);
  const pool = [...new Set(nearby)].filter((name) => name !== target.text).sort();
  if (pool.length === 0) return null;
  // Models confuse names that look alike: prefer a name sharing the first letter or length, when there is one.
  const alike = pool.filter((name) => name[0]!.toLowerCase() === target.text[0]!.toLowerCase() || Math.abs(name.length - target.text.length) <= 1);
  const replacement = rng.pick(alike.length > 0 && rng.next() < 0.7 ? alike : pool);
  const start = tokenStart(target);
  return middle.slice(0, start) + replacement + middle.slice(target.end);
}

function indentOf(line: string): string {
  return /^[ \t]*/.exec(line)![0];
}

/** The indentation of the line the middle starts on (the middle itself may start mid-line). */
function startIndent(fim: FimCase): string {
  const lineStart = fim.prefix.lastIndexOf('\n') + 1;
  return indentOf(fim.prefix.slice(lineStart));
}

/**
 * One more line: usually the suffix's next line (the model ran past the middle), else a line from the prefix,
 * inserted at a line boundary with the neighbouring indentation.
 */
function extraLine(fim: FimCase, rng: Rng): string {
  const suffixLines = fim.suffix.split('\n').map((l) => l.trim()).filter((l) => l.replace(/\s/g, '').length >= 3);
  const prefixLines = fim.prefix.split('\n').slice(-40).map((l) => l.trim()).filter((l) => l.replace(/\s/g, '').length >= 3);
  let line: string | undefined;
  if (suffixLines.length > 0 && (rng.next() < 0.5 || prefixLines.length === 0)) line = suffixLines[0];
  else if (prefixLines.length > 0) line = rng.pick(prefixLines);
  line ??= 'return;';
  const lines = fim.middle.split('\n');
  const at = lines.length === 1 ? 1 : 1 + rng.int(lines.length);
  const neighbour = lines[Math.min(at, lines.length - 1)]!;
  const indent = lines.length === 1 ? startIndent(fim) : indentOf(neighbour);
  lines.splice(at, 0, indent + line);
  return lines.join('\n');
}

/** A multi-line middle with one of its non-blank lines left out. */
function missingLine(middle: string, rng: Rng): string | null {
  const lines = middle.split('\n');
  const solid = lines.map((l, i) => (l.trim() === '' ? -1 : i)).filter((i) => i >= 0);
  if (solid.length < 2) return null;
  const drop = rng.pick(solid);
  const kept = lines.filter((_, i) => i !== drop);
  // The first line of a middle carries no indentation (the prefix has it): keep it that way.
  if (drop === 0) kept[0] = kept[0]!.trimStart();
  return kept.join('\n');
}

const OPERATOR_SWAPS: Record<string, string> = {
  '<': '<=', '<=': '<', '>': '>=', '>=': '>', '===': '!==', '!==': '===', '==': '!=', '!=': '==',
  '&&': '||', '||': '&&', '+': '-', '-': '+', '??': '||',
};

/** A number off by one, a boolean flipped, or a comparison/logical operator swapped. */
function wrongLiteral(middle: string, rng: Rng): string | null {
  const tokens = lex(middle).tokens;
  const options = tokens.filter(
    (t) => (t.kind === 'number' && /^\d+$/.test(t.text)) || t.text === 'true' || t.text === 'false' || (t.kind === 'punct' && t.text in OPERATOR_SWAPS),
  );
  if (options.length === 0) return null;
  const token = rng.pick(options);
  let replacement: string;
  if (token.kind === 'number') {
    const value = Number(token.text);
    replacement = String(value === 0 || rng.next() < 0.5 ? value + 1 : value - 1);
  } else if (token.text === 'true' || token.text === 'false') {
    replacement = token.text === 'true' ? 'false' : 'true';
  } else {
    replacement = OPERATOR_SWAPS[token.text]!;
  }
  const start = tokenStart(token);
  return middle.slice(0, start) + replacement + middle.slice(token.end);
}

/**
 * The same code, formatted differently. Re-indented continuation lines or a trailing space keep exact match
 * (stripped lines are equal); changed spacing inside a line, or lines joined or split, do not (though the
 * whitespace-normalised text of a join or split is unchanged).
 */
function reformat(middle: string, rng: Rng): string | null {
  const lines = middle.split('\n');
  const variants: (() => string | null)[] = [
    // Re-indent the continuation lines (or, on one line, a trailing space).
    () => (lines.length > 1 ? [lines[0]!, ...lines.slice(1).map((l) => (l.trim() === '' ? l : l.startsWith('  ') && rng.next() < 0.5 ? l.slice(2) : '  ' + l))].join('\n') : middle + ' '),
    // Spacing: drop the space after a comma or around `=`, or pad the inside of parentheses.
    () => {
      const choices = [
        () => middle.replace(/, (?=\S)/, ','),
        () => middle.replace(/ = /, '='),
        () => middle.replace(/\((?=\S)/, '( '),
        () => middle.replace(/ ([+\-*/]|&&|\|\||===|!==) /, '$1'),
      ].map((f) => f()).filter((t) => t !== middle);
      return choices.length > 0 ? rng.pick(choices) : null;
    },
    // Lines joined (several) or split after a comma (one).
    () => {
      if (lines.length > 1) {
        const i = rng.int(lines.length - 1);
        const joined = [...lines.slice(0, i), lines[i]!.trimEnd() + ' ' + lines[i + 1]!.trim(), ...lines.slice(i + 2)];
        return joined.join('\n');
      }
      const comma = middle.indexOf(', ');
      return comma < 0 ? null : middle.slice(0, comma + 1) + '\n' + '  ' + middle.slice(comma + 2);
    },
  ];
  const first = rng.int(variants.length);
  for (let k = 0; k < variants.length; k++) {
    const text = variants[(first + k) % variants.length]!();
    if (text !== null && text !== middle) return text;
  }
  return null;
}
