import { describe, expect, it } from 'vitest';
import { languageFor } from '../../../server/documents/syntax.js';
import { checkPair, codeTokens, extractPair, pairKey } from '../../../server/training/synth-pair.js';

const ts = languageFor('typescript', '')!;
const OLD = 'function add(a: number, b: number) {\n  return a+b;\n}';
const NEW = 'const add = (a: number, b: number): number => a + b;';

describe('a synthetic pair from a chat answer', () => {
  it('takes the block labelled as the old code as before, whatever the order, reasoning and shell lines left out', () => {
    const answer = `<think>\nLet me write it.\n</think>\nRefactored:\n\`\`\`ts\n${NEW}\n\`\`\`\n\nInstall nothing:\n\`\`\`bash\nnpm i\n\`\`\`\n\nOriginal:\n\`\`\`ts\n${OLD}\n\`\`\`\n`;
    expect(extractPair(answer, 'refactor', 'typescript')).toEqual({ before: OLD, after: NEW });
  });

  it('takes two unlabelled blocks in order, and none from one block or prose', () => {
    expect(extractPair(`\`\`\`js\n${OLD}\n\`\`\`\n\`\`\`\n${NEW}\n\`\`\``, 'optimize', 'typescript')).toEqual({ before: OLD, after: NEW });
    expect(extractPair(`Before:\n\`\`\`ts\n${OLD}\n\`\`\``, 'refactor', 'typescript')).toBeUndefined();
    expect(extractPair('The function is fine as it is.', 'refactor', 'typescript')).toBeUndefined();
  });

  it('explain: the explanation after the code, its label removed (not a heading that starts with the word)', () => {
    const text = 'It adds `a` and `b` and returns the sum.';
    expect(extractPair(`Function:\n\`\`\`ts\n${OLD}\n\`\`\`\n\n**Explanation:**\n${text}`, 'explain', 'typescript')).toEqual({ before: OLD, after: text });
    expect(extractPair(`\`\`\`ts\n${OLD}\n\`\`\`\nExplanation of the sum: ${text}`, 'explain', 'typescript')?.after).toBe(`Explanation of the sum: ${text}`);
  });

  it('differs in tokens, not in layout; the key ignores layout too', () => {
    const spaced = 'function add(a: number, b: number) {\n\n    return a + b;\n}';
    expect(codeTokens(spaced, ts)).toEqual(codeTokens(OLD, ts));
    expect(checkPair({ before: OLD, after: spaced }, 'refactor', ts)).toBe('unchanged');
    expect(checkPair({ before: OLD, after: NEW }, 'refactor', ts)).toBeUndefined();
    // A changed string literal is a change, whitespace inside it included.
    expect(checkPair({ before: 'const s = "a b";', after: 'const s = "a  b";' }, 'refactor', ts)).toBeUndefined();
    expect(pairKey({ before: spaced, after: NEW }, ts)).toBe(pairKey({ before: OLD, after: 'x' }, ts));
    // Without a grammar: words and punctuation.
    expect(codeTokens('a+b', undefined)).toEqual(codeTokens('a + b', undefined));
  });

  it('drops a pair when either side has syntax errors (explain: the code only)', () => {
    expect(checkPair({ before: OLD, after: 'const add = (a: number => a +;' }, 'fix', ts)).toBe('syntaxError');
    expect(checkPair({ before: 'function (', after: NEW }, 'fix', ts)).toBe('syntaxError');
    expect(checkPair({ before: OLD, after: 'Adds two numbers (see `a + b`.' }, 'explain', ts)).toBeUndefined();
  });
});
