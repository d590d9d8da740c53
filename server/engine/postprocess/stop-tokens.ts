import type { Filter, FilterContext } from './types.js';

/**
 * Special tokens of the common FIM templates (Qwen, StarCoder, CodeLlama, DeepSeek, CodeGemma, Codestral). They never
 * belong in source code, so an answer is cut at them even when the model's template did not list them as stops:
 * a backend that leaks one would otherwise paste it into the user's file. Markers that can be code (`<PRE>`,
 * `[SUFFIX]`) are left to the template's own stop list.
 */
export const KNOWN_SPECIAL_TOKENS: readonly string[] = [
  '<|endoftext|>',
  '<|fim_prefix|>',
  '<|fim_suffix|>',
  '<|fim_middle|>',
  '<|fim_pad|>',
  '<|file_separator|>',
  '<|file_sep|>',
  '<|repo_name|>',
  '<|im_start|>',
  '<|im_end|>',
  '<|end_of_text|>',
  '<|eot_id|>',
  '<fim_prefix>',
  '<fim_suffix>',
  '<fim_middle>',
  '<file_sep>',
  '<EOT>',
  '<｜fim▁begin｜>',
  '<｜fim▁hole｜>',
  '<｜fim▁end｜>',
  '<｜end▁of▁sentence｜>',
];

/** `\r\n` and lone `\r` become `\n`; the text is cut at the first stop token (the model's own, then the known ones). */
export const stopTokens: Filter = (text: string, context: FilterContext): string => {
  let result = text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
  let cut = result.length;
  for (const token of context.stopTokens) {
    if (!token) continue;
    const at = result.indexOf(token);
    if (at !== -1 && at < cut) cut = at;
  }
  for (const token of KNOWN_SPECIAL_TOKENS) {
    const at = result.indexOf(token);
    if (at !== -1 && at < cut) cut = at;
  }
  if (cut < result.length) result = result.slice(0, cut);
  return result;
};
