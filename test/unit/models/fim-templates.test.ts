import { describe, expect, it } from 'vitest';
import { templateFor } from '../../../server/models/fim-templates.js';

describe('FIM templates', () => {
  it.each([
    ['qwen2.5-coder:1.5b-base', 'qwen2.5-coder', '<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>', '<|endoftext|>'],
    ['starcoder2:3b', 'starcoder2', '<fim_prefix>P<fim_suffix>S<fim_middle>', '<file_sep>'],
    ['codellama:7b-code', 'codellama', '<PRE> P <SUF>S <MID>', '<EOT>'],
    ['deepseek-coder:1.3b-base', 'deepseek-coder', '<｜fim▁begin｜>P<｜fim▁hole｜>S<｜fim▁end｜>', '<｜end▁of▁sentence｜>'],
    ['codegemma:2b', 'codegemma', '<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>', '<|file_separator|>'],
    ['codestral:22b', 'codestral', '[SUFFIX]S[PREFIX]P', '[MIDDLE]'],
  ])('%s uses the %s format', (model, family, prompt, stop) => {
    const t = templateFor(model)!;
    expect(t.family).toBe(family);
    expect(t.build('P', 'S')).toBe(prompt);
    expect(t.stop).toContain(stop);
  });

  it('knows no template for chat models', () => {
    expect(templateFor('llama3.2:3b')).toBeUndefined();
    expect(templateFor('granite4:tiny')).toBeUndefined();
  });
});
