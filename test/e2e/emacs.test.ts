// Emacs end to end: the real Emacs 30 (`emacs --batch -Q`), its built-in Eglot, clients/emacs/xencode.el and the
// built server (dist/server/cli.js) against the Ollama stand-in. test/e2e/emacs/eglot-session.el does what a user
// does (M-x eglot, completion-at-point, eglot-code-actions, the eldoc hover, M-x xencode-stats) and writes what it
// saw to a JSON file; this file asserts on that file and on the stand-in's record of the model calls.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { OllamaStub } from '../support/ollama-stub.js';
import { ensureEditors } from './support/editors.js';

const XENCODE_EL = join(PACKAGE_ROOT, 'clients', 'emacs', 'xencode.el');
const SESSION_EL = join(PACKAGE_ROOT, 'test', 'e2e', 'emacs', 'eglot-session.el');
const CHECKS_EL = join(PACKAGE_ROOT, 'test', 'e2e', 'emacs', 'setup-checks.el');
const CLI = join(PACKAGE_ROOT, 'dist', 'server', 'cli.js');

const FIM = 'qwen2.5-coder:1.5b-base';
const CHAT = 'qwen2.5-coder:7b';

const SOURCE = [
  "import { log } from './log';",
  '',
  'export class Calculator {',
  '  total = 0;',
  '',
  '  add(a: number, b: number): number {',
  '    const sum = a + b;',
  '    this.total += sum;',
  '    return sum;',
  '  }',
  '',
  '  scale(factor: number): number {',
  '    return ',
  '  }',
  '}',
  '',
].join('\n');

const COMPLETION = 'this.total * factor;';
const REFACTORED = ['add(a: number, b: number): number {', '  const sum = a + b;', '  this.total += sum;', '  log(sum);', '  return sum;', '}'].join('\n');
const EXPLANATION = '`add` returns the sum of **a** and **b** and adds it to `total`.\n\n- Pitfall: `total` grows without bound.';
const HOVER = '`add` sums a and b, adds the sum to the running total and returns it.';

/** Each Emacs run is bounded; the session bounds itself at 40 s too, and still writes its result then. */
const EMACS_TIMEOUT_MS = 50_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Runs Emacs to its end, killing it (and failing with its output) past the timeout. */
function runEmacs(emacs: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(emacs, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`emacs ${args.join(' ')} ran past ${EMACS_TIMEOUT_MS} ms and was killed. Output:\n${output}`));
    }, EMACS_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

let emacs: string;
let scratch: string;

beforeAll(() => {
  ({ emacs } = ensureEditors(['emacs']));
  scratch = mkdtempSync(join(tmpdir(), 'xencode-emacs-'));
}, 300_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** A bare environment for Emacs: its own HOME, so nothing of the machine's ~/.emacs.d is read or written. */
function emacsEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  mkdirSync(home, { recursive: true });
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', TERM: 'dumb', ...extra };
}

describe('clients/emacs/xencode.el', () => {
  it('byte-compiles without errors or warnings in Emacs 30, lsp-mode absent', async () => {
    const dir = join(scratch, 'compile');
    mkdirSync(dir);
    const copy = join(dir, 'xencode.el');
    copyFileSync(XENCODE_EL, copy);
    const compiled = await runEmacs(emacs, ['--batch', '-Q', '-L', dir, '-f', 'batch-byte-compile', copy], emacsEnv(join(dir, 'home')), dir);
    expect(compiled.code, compiled.output).toBe(0);
    expect(compiled.output, compiled.output).not.toMatch(/warning|error/i);
    expect(existsSync(join(dir, 'xencode.elc'))).toBe(true);
  });

  it('loads without lsp-mode, turns the settings into JSON, and gives Eglot Xencode for the chosen modes only', async () => {
    // lsp-mode's setup only waits for lsp-mode (absent here), and loading xencode.el loads neither client. Eglot gets
    // Xencode for the modes asked for, in place of their usual server, while JSON buffers (js-json-mode derives from
    // js-mode) keep theirs; teardown gives every mode its server back.
    const dir = join(scratch, 'setup');
    mkdirSync(dir);
    const checks = await runEmacs(emacs, ['--batch', '-Q', '-l', XENCODE_EL, '-l', CHECKS_EL], emacsEnv(join(dir, 'home')), dir);
    expect(checks.code, checks.output).toBe(0);
    const lines = checks.output.split('\n');
    expect(lines, checks.output).toEqual(
      expect.arrayContaining([
        'loaded: lsp-mode=nil eglot=nil',
        'json: {"ollama":{"host":"http://127.0.0.1:9"},"models":["a","b"],"hover":{"enabled":false}}',
        'all: typescript-ts-mode=xencode/typescript tsx-ts-mode=xencode/typescriptreact js-mode=xencode/javascript js-json-mode=other python-ts-mode=xencode/python rust-ts-mode=xencode/rust',
        'python: typescript-ts-mode=other tsx-ts-mode=other js-mode=other js-json-mode=other python-ts-mode=xencode/python rust-ts-mode=other',
        'none: typescript-ts-mode=other tsx-ts-mode=other js-mode=other js-json-mode=other python-ts-mode=other rust-ts-mode=other',
      ]),
    );
  });

  it('through Eglot: completion-at-point inserts the answer, code actions refactor and explain, eldoc shows the hover', async () => {
    const stub = new OllamaStub({
      models: [
        { name: FIM, rules: [{ promptIncludes: 'scale(factor: number)', answer: COMPLETION }], defaultAnswer: '' },
        {
          name: CHAT,
          capabilities: ['completion', 'tools'],
          rules: [
            { messageIncludes: 'Refactor this method add', answer: `Here it is, with logging:\n\n\`\`\`typescript\n${REFACTORED}\n\`\`\`` },
            { messageIncludes: 'Explain this method add', answer: EXPLANATION },
            { messageIncludes: 'hover popup', answer: HOVER },
          ],
          defaultAnswer: 'I cannot help with that.',
        },
      ],
    });
    await stub.start();
    try {
      const workspace = join(scratch, 'workspace');
      mkdirSync(workspace);
      const file = join(workspace, 'calculator.ts');
      writeFileSync(file, SOURCE);
      const result = join(scratch, 'result.json');
      const env = emacsEnv(join(scratch, 'home'), {
        XENCODE_DATA_DIR: join(scratch, 'data'),
        XENCODE_NO_WARMUP: '1',
        XENCODE_E2E_NODE: process.execPath,
        XENCODE_E2E_CLI: CLI,
        XENCODE_E2E_HOST: stub.url,
        XENCODE_E2E_FIM: FIM,
        XENCODE_E2E_CHAT: CHAT,
        XENCODE_E2E_FILE: file,
        XENCODE_E2E_RESULT: result,
      });
      const run = await runEmacs(emacs, ['--batch', '-Q', '-l', XENCODE_EL, '-l', SESSION_EL], env, workspace);
      const seen = existsSync(result) ? JSON.parse(readFileSync(result, 'utf8')) : undefined;
      const prompts = stub.chatRequests().map((r) => `  ${JSON.stringify(r.body.messages.at(-1)?.content ?? '').slice(0, 160)}`);
      const why = [
        `emacs exit ${run.code}${run.signal ? ` (${run.signal})` : ''}`,
        JSON.stringify(seen, null, 2),
        run.output,
        `stub:\n${stub.describeRequests()}`,
        `chat prompts:\n${prompts.slice(0, 20).join('\n')}`,
      ].join('\n');
      expect(seen, why).toBeDefined();
      expect(seen.errors, why).toBeUndefined();
      expect(run.code, why).toBe(0);

      // Eglot started xencode (the class xencode.el gives it) and sent the buffer as TypeScript.
      expect(seen.serverClass).toBe('xencode-eglot-server');
      expect(seen.serverName).toBe('xencode');
      expect(seen.languageId).toBe('typescript');

      // Completion: the AI item is offered, and inserting it completes the line; the accept reached the server.
      expect(seen.candidates).toContain(COMPLETION);
      expect(seen.lineAfterCompletion).toBe(`    return ${COMPLETION}`);
      expect(seen.accepted).toBe(1);
      const [fim] = stub.generateRequests(FIM).filter((r) => r.body?.prompt);
      expect(fim!.body.prompt.endsWith('  scale(factor: number): number {\n    return ')).toBe(true);

      // Code action: the menu listed Xencode's actions for the method; the refactor landed in the buffer.
      expect(seen.actionTitles).toEqual(expect.arrayContaining(['Xencode: Refactor method add', 'Xencode: Explain method add']));
      expect(seen.bufferAfterAction).toContain(['  add(a: number, b: number): number {', '    const sum = a + b;', '    this.total += sum;', '    log(sum);', '    return sum;', '  }'].join('\n'));
      expect(seen.bufferAfterAction).toContain(`    return ${COMPLETION}`);
      expect(seen.bufferAfterAction).not.toContain('Here it is');

      // An action whose model gave no code changed nothing, and was resolved once (Eglot alone loops on it).
      expect(seen.bufferAfterUnusable).toBe(seen.bufferAfterAction);
      expect(stub.chatRequests(CHAT).filter((r) => JSON.stringify(r.body.messages).includes('Optimize this method add'))).toHaveLength(1);

      // Explain: Eglot opened the markdown the server wrote (window/showDocument).
      expect(seen.explanation).toContain('Pitfall: `total` grows without bound.');

      // Hover: eldoc got the scripted explanation.
      expect(seen.hover).toContain('sums a and b, adds the sum to the running total and returns it.');

      // The settings reached the server: the action and the hover asked the chat model, through this stub.
      const chats = stub.chatRequests(CHAT).map((r) => JSON.stringify(r.body.messages));
      expect(chats.some((m) => m.includes('Refactor this method add'))).toBe(true);
      expect(chats.some((m) => m.includes('hover popup'))).toBe(true);

      // M-x xencode-stats showed the statistics, which count the hover and the accept.
      const stats = JSON.parse(seen.statsBuffer);
      expect(stats.feedback.accepted).toBe(1);
      expect(stats.hover.answered).toBeGreaterThanOrEqual(1);
      expect(seen.cacheCleared).toBe(true);
    } finally {
      await stub.stop();
    }
  });
});
