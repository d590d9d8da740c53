/**
 * Fill-in-the-middle prompt formats per model family, used in raw mode when the server cannot insert by itself
 * (its template has no `.Suffix`), and their stop sequences, which post-processing cuts at in every mode.
 * The formats are the families' published FIM tokens (see shared/notes/ollama.md).
 */
export interface FimTemplate {
  readonly family: string;
  /** Matches the Ollama model name (`qwen2.5-coder:1.5b-base`, `hf.co/…/starcoder2-3b-GGUF`, …). */
  readonly match: RegExp;
  build(prefix: string, suffix: string): string;
  readonly stop: readonly string[];
}

export const FIM_TEMPLATES: readonly FimTemplate[] = [
  {
    family: 'qwen2.5-coder',
    match: /qwen[\d.]*-?coder/i,
    build: (p, s) => `<|fim_prefix|>${p}<|fim_suffix|>${s}<|fim_middle|>`,
    stop: ['<|endoftext|>', '<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>', '<|im_start|>', '<|im_end|>'],
  },
  {
    family: 'starcoder2',
    match: /starcoder/i,
    build: (p, s) => `<fim_prefix>${p}<fim_suffix>${s}<fim_middle>`,
    stop: ['<|endoftext|>', '<fim_prefix>', '<fim_suffix>', '<fim_middle>', '<file_sep>'],
  },
  {
    family: 'codellama',
    match: /codellama/i,
    build: (p, s) => `<PRE> ${p} <SUF>${s} <MID>`,
    stop: ['<EOT>', '<PRE>', '<SUF>', '<MID>'],
  },
  {
    family: 'deepseek-coder',
    match: /deepseek-coder/i,
    build: (p, s) => `<｜fim▁begin｜>${p}<｜fim▁hole｜>${s}<｜fim▁end｜>`,
    stop: ['<｜fim▁begin｜>', '<｜fim▁hole｜>', '<｜fim▁end｜>', '<｜end▁of▁sentence｜>', '<|EOT|>'],
  },
  {
    family: 'codegemma',
    match: /codegemma/i,
    build: (p, s) => `<|fim_prefix|>${p}<|fim_suffix|>${s}<|fim_middle|>`,
    stop: ['<|file_separator|>', '<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>', '<end_of_turn>', '<eos>'],
  },
  {
    family: 'codestral',
    match: /codestral/i,
    build: (p, s) => `[SUFFIX]${s}[PREFIX]${p}`,
    stop: ['[PREFIX]', '[SUFFIX]', '[MIDDLE]', '</s>'],
  },
];

export function templateFor(model: string): FimTemplate | undefined {
  return FIM_TEMPLATES.find((t) => t.match.test(model));
}

/** Families that can fill in the middle, for messages that suggest a model. */
export const FIM_MODEL_SUGGESTIONS = ['qwen2.5-coder:1.5b-base', 'starcoder2:3b', 'deepseek-coder:1.3b-base', 'codegemma:2b'];
