import { describe, expect, it } from 'vitest';
import { extractCode, extractDocComment } from '../../../server/engine/actions/extract.js';
import { detectIndentUnit, reindent, withLineEndings } from '../../../server/engine/actions/reindent.js';

/** Lines joined with '\n' (keeps the expected shapes readable). */
const lines = (...ls: string[]): string => ls.join('\n');

describe('detectIndentUnit', () => {
  it('finds two and four spaces', () => {
    expect(detectIndentUnit(lines('function f() {', '  if (x) {', '    y();', '  }', '}'))).toBe('  ');
    expect(detectIndentUnit(lines('class A {', '    m() {', '        return 1;', '    }', '}'))).toBe('    ');
  });

  it('finds tabs when most indented lines use them', () => {
    expect(detectIndentUnit(lines('function f() {', '\tif (x) {', '\t\ty();', '\t}', '}'))).toBe('\t');
    // One space-indented line in tab code (a pasted line) does not change it.
    expect(detectIndentUnit(lines('a {', '\tb;', '\tc {', '\t\td;', '\t}', '    e;', '}'))).toBe('\t');
  });

  it('does not take the one-space step of JSDoc lines for a unit', () => {
    const jsdoc = lines('/**', ' * Adds.', ' * @param a first', ' */', 'function add(a, b) {', '    return a + b;', '}');
    expect(detectIndentUnit(jsdoc)).toBe('    ');
    expect(detectIndentUnit(lines('/**', ' * Only a comment.', ' */'))).toBe('  ');
  });

  it('takes the most frequent step, not the smallest that divides everything', () => {
    // Four-space code with one two-space continuation line.
    const four = lines('def f(a,', '      b):', '    if a:', '        return b', '    return a', 'x = 1');
    expect(detectIndentUnit(four)).toBe('    ');
    // Two-space code with a four-space continuation.
    const two = lines('const x = {', '  a: 1,', '  b: call(', '      arg),', '  c: 3,', '};', 'if (x) {', '  y();', '}');
    expect(detectIndentUnit(two)).toBe('  ');
  });

  it('is two spaces for flat or empty text, and ignores blank lines', () => {
    expect(detectIndentUnit('const a = 1;\nconst b = 2;')).toBe('  ');
    expect(detectIndentUnit('')).toBe('  ');
    expect(detectIndentUnit(lines('if (a) {', '', '    b();', '      ', '    c();', '}'))).toBe('    ');
  });

  it('reads CRLF text', () => {
    expect(detectIndentUnit('if (a) {\r\n    b();\r\n}\r\n')).toBe('    ');
  });
});

describe('reindent', () => {
  it('puts a JSDoc-commented method answered at two spaces into a class indented with four', () => {
    const answer = lines(
      '/**',
      ' * Adds a line to the cart.',
      ' * @param line - The line to add.',
      ' */',
      'add(line: Line): void {',
      '  if (line.quantity > 0) {',
      '    this.lines.push(line);',
      '  }',
      '}',
    );
    expect(reindent(answer, { baseIndent: '    ', unit: '    ', indentFirstLine: true })).toBe(
      lines(
        '    /**',
        '     * Adds a line to the cart.',
        '     * @param line - The line to add.',
        '     */',
        '    add(line: Line): void {',
        '        if (line.quantity > 0) {',
        '            this.lines.push(line);',
        '        }',
        '    }',
      ),
    );
  });

  it('converts tabs to spaces and spaces to tabs, keeping the JSDoc space as a space', () => {
    const tabs = lines('/**', ' * Doc.', ' */', 'function f() {', '\tif (a) {', '\t\tb();', '\t}', '}');
    expect(reindent(tabs, { baseIndent: '  ', unit: '  ', indentFirstLine: true })).toBe(
      lines('  /**', '   * Doc.', '   */', '  function f() {', '    if (a) {', '      b();', '    }', '  }'),
    );
    const spaces = lines('  /**', '   * Doc.', '   */', '  m() {', '    return 1;', '  }');
    expect(reindent(spaces, { baseIndent: '\t', unit: '\t', indentFirstLine: true })).toBe(
      lines('\t/**', '\t * Doc.', '\t */', '\tm() {', '\t\treturn 1;', '\t}'),
    );
  });

  it('converts four-space levels to two', () => {
    const four = lines('if (a) {', '    for (const x of xs) {', '        use(x);', '    }', '}');
    expect(reindent(four, { baseIndent: '', unit: '  ', indentFirstLine: true })).toBe(
      lines('if (a) {', '  for (const x of xs) {', '    use(x);', '  }', '}'),
    );
  });

  it('removes the common indentation of code the model answered indented', () => {
    const indented = lines('        const a = 1;', '        if (a) {', '            b();', '        }');
    expect(reindent(indented, { baseIndent: '  ', unit: '  ', indentFirstLine: true })).toBe(
      lines('  const a = 1;', '  if (a) {', '    b();', '  }'),
    );
  });

  it('leaves the first line without base indentation when it goes after text already on the line', () => {
    const code = lines('function f() {', '  return 1;', '}');
    expect(reindent(code, { baseIndent: '    ', unit: '    ', indentFirstLine: false })).toBe(
      lines('function f() {', '        return 1;', '    }'),
    );
  });

  it('leaves blank lines empty, whitespace-only ones included', () => {
    const code = lines('a();', '   ', '', 'if (b) {', '  c();', '', '  d();', '}');
    expect(reindent(code, { baseIndent: '\t', unit: '\t', indentFirstLine: true })).toBe(
      lines('\ta();', '', '', '\tif (b) {', '\t\tc();', '', '\t\td();', '\t}'),
    );
  });

  it('keeps alignment that is not a whole number of levels', () => {
    // Arguments aligned one space past the level, in four-space code.
    const code = lines('function f() {', '    return g(a,', '             b);', '}');
    expect(reindent(code, { baseIndent: '', unit: '\t', indentFirstLine: true })).toBe(
      lines('function f() {', '\treturn g(a,', '\t\t\t b);', '}'),
    );
  });

  it('reads CRLF code and writes \\n', () => {
    expect(reindent('if (a) {\r\n    b();\r\n}\r\n', { baseIndent: ' ', unit: '  ', indentFirstLine: true })).toBe(
      ' if (a) {\n   b();\n }\n',
    );
  });

  it('gives only empty lines for whitespace', () => {
    expect(reindent('  \n\t', { baseIndent: '    ', unit: '    ', indentFirstLine: true })).toBe('\n');
  });

  it('reindents a Python docstring into a method', () => {
    const docstring = lines('"""Return the mean.', '', 'Args:', '    values: The numbers.', '"""');
    expect(reindent(docstring, { baseIndent: '        ', unit: '    ', indentFirstLine: true })).toBe(
      lines('        """Return the mean.', '', '        Args:', '            values: The numbers.', '        """'),
    );
  });
});

describe('withLineEndings', () => {
  it('writes every kind of line break as the one asked for', () => {
    expect(withLineEndings('a\nb\r\nc\rd', '\r\n')).toBe('a\r\nb\r\nc\r\nd');
    expect(withLineEndings('a\r\nb\r\n', '\n')).toBe('a\nb\n');
    expect(withLineEndings('no break', '\r\n')).toBe('no break');
  });
});

describe('extraction then re-indentation', () => {
  it('fits a CRLF answer indented with tabs into a two-space method body of a CRLF document', () => {
    const answer = 'Here is the fix:\r\n\r\n```ts\r\nif (!user) {\r\n\treturn;\r\n}\r\nsave(user);\r\n```\r\n';
    const code = extractCode(answer, { languageId: 'typescript' })!.code;
    const text = withLineEndings(reindent(code, { baseIndent: '    ', unit: '  ', indentFirstLine: true }), '\r\n');
    expect(text).toBe('    if (!user) {\r\n      return;\r\n    }\r\n    save(user);');
  });

  it('fits a doc comment the model wrote at four spaces over a tab-indented method', () => {
    const answer = '```ts\n    /**\n     * Saves the user.\n     */\n    save(user: User) {\n        this.db.put(user);\n    }\n```';
    const doc = extractDocComment(answer, { languageId: 'typescript' })!;
    expect(reindent(doc, { baseIndent: '\t', unit: '\t', indentFirstLine: true })).toBe('\t/**\n\t * Saves the user.\n\t */');
  });
});

describe('reindent: code copied out of a nested place', () => {
  it('takes a first line at column 0 with the rest at their old depth as one block', () => {
    const copied = 'add(a: number): number {\n    return a + 1;\n  }';
    expect(reindent(copied, { baseIndent: '    ', unit: '  ', indentFirstLine: false })).toBe('add(a: number): number {\n      return a + 1;\n    }');
  });

  it('leaves a top-level block (closing line at column 0) as it is', () => {
    const top = 'function f() {\n  return 1;\n}';
    expect(reindent(top, { baseIndent: '  ', unit: '  ', indentFirstLine: true })).toBe('  function f() {\n    return 1;\n  }');
  });
});
