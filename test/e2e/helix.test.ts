/**
 * Helix 25.01 end to end: the real `hx` in a detached tmux session (fixed size, private socket), Xencode started by
 * Helix from a languages.toml derived from clients/helix/languages.toml, the Ollama stand-in in-process. Keys go in
 * with `tmux send-keys`; the screen comes back with `tmux capture-pane` and is polled until the expected text
 * shows (bounded). Assertions are on the screen and on the stand-in's record of requests, never on times.
 *
 * The other language server of the language (typescript-language-server in the shipped file) is replaced by a tiny
 * stand-in that answers every completion at once with one item, so the popup has "the other servers' items".
 *
 * Traps (Helix 25.01): a wrong key in languages.toml or config.toml stops start-up at a "press Enter" prompt (hence
 * every wait is bounded and prints the screen); Helix sends a request only to servers that have finished
 * initializing (wait for their didOpen in the log, `hx -v --log`); with no item selected, one Escape closes the
 * completion popup and leaves insert mode.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { describeRequest, OllamaStub, type RecordedRequest, type StubModel } from '../support/ollama-stub.js';
import { ensureEditors } from './support/editors.js';
import { CLI, waitForFeedback } from './support/feedback.js';

const CLIENT_LANGUAGES = join(PACKAGE_ROOT, 'clients', 'helix', 'languages.toml');

const FIM = 'qwen2.5-coder:1.5b-base';
const CHAT = 'qwen2.5-coder:7b';
/** What the FIM model answers inside `multiply`, and what the popup and the buffer show of it. */
const ANSWER = 'a * b * zebraFactor;';
/** The item of the other server (the typescript-language-server stand-in). */
const OTHER_ITEM = 'otherServerItemQuux';
const HOVER_TEXT = 'scaled by the hoverZebra factor';
const EXPLAIN_TEXT = 'explainedByStub';
const REFACTORED_MARK = 'refactoredByStub';

/** Line 2 ends in a space (a trigger character): entering insert mode at its end asks for a completion. */
const OPEN_LINE = ['export function multiply(a: number, b: number): number {', '  const total = ', '  return total;', '}', ''].join('\n');
const WHOLE = ['export function multiply(a: number, b: number): number {', '  const total = a * b;', '  return total;', '}', ''].join('\n');

const WIDTH = 120;
const HEIGHT = 40;
const WAIT_MS = 10_000;

let tmux = '';
let hx = '';

beforeAll(() => {
  ({ tmux, hx } = ensureEditors(['tmux', 'hx']));
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
}, 300_000);

function fimModel(extra: Partial<StubModel> = {}): StubModel {
  return { name: FIM, rules: [{ suffixIncludes: 'return total', answer: ANSWER }], ...extra };
}

function chatModel(): StubModel {
  return {
    name: CHAT,
    capabilities: ['completion', 'tools'],
    rules: [
      { messageIncludes: 'hover popup', answer: `\`multiply(a, b)\` returns the product, ${HOVER_TEXT}.` },
      {
        messageIncludes: 'Refactor this',
        answer: ['```ts', 'export function multiply(a: number, b: number): number {', `  return a * b; // ${REFACTORED_MARK}`, '}', '```'].join('\n'),
      },
      { messageIncludes: 'Explain', answer: `It multiplies two numbers. ${EXPLAIN_TEXT}` },
    ],
    defaultAnswer: 'I cannot help with that.',
  };
}

/** The FIM requests for the completion inside `multiply` (not the probes Xencode sends to learn a model). */
function fimRequests(stub: OllamaStub): RecordedRequest[] {
  return stub.generateRequests(FIM).filter((r) => typeof r.body?.suffix === 'string' && r.body.suffix.includes('return total'));
}

function chatMessages(r: RecordedRequest): string {
  return ((r.body?.messages ?? []) as Array<{ content?: string }>).map((m) => m.content ?? '').join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// The languages.toml the test gives Helix: the shipped one, with the built server, the stand-in's host and the test's
// environment. Each replacement must match exactly once, so a change to the shipped file fails here, clearly.
// ---------------------------------------------------------------------------------------------------------------

function replaceLine(text: string, line: RegExp, replacement: string): string {
  const matches = text.match(new RegExp(line.source, 'gm')) ?? [];
  if (matches.length !== 1) throw new Error(`clients/helix/languages.toml: expected one line matching ${line}, found ${matches.length}`);
  return text.replace(new RegExp(line.source, 'm'), replacement);
}

const tomlString = (value: string) => JSON.stringify(value);

function helixLanguages(options: { ollama: string; dataDir: string; otherServer: string; extraSettings?: string }): string {
  let text = readFileSync(CLIENT_LANGUAGES, 'utf8');
  text = replaceLine(text, /^command = "xencode".*$/, `command = ${tomlString(process.execPath)}`);
  text = replaceLine(
    text,
    /^args = \["--stdio"\].*$/,
    `args = [${tomlString(CLI)}, "--stdio"]\n` +
      `environment = { XENCODE_DATA_DIR = ${tomlString(options.dataDir)}, XENCODE_NO_WARMUP = "1", XENCODE_LOG = "debug" }`,
  );
  text = replaceLine(text, /^ollama = \{ host = .*$/, `ollama = { host = ${tomlString(options.ollama)} }`);
  text = replaceLine(
    text,
    /^models = \[.*$/,
    `models = [${tomlString(FIM)}]\nactions = { models = [${tomlString(CHAT)}] }\n${options.extraSettings ?? ''}`,
  );
  // The language's own server, replaced by the stand-in (the name stays: the shipped language lists are kept).
  text +=
    `\n[language-server.typescript-language-server]\n` +
    `command = ${tomlString(process.execPath)}\nargs = [${tomlString(options.otherServer)}]\n`;
  return text;
}

/** A language server that answers every completion at once with OTHER_ITEM, and nothing else (plain JSON-RPC). */
const OTHER_SERVER = `
let buffer = Buffer.alloc(0);
const send = (message) => {
  const body = JSON.stringify({ jsonrpc: '2.0', ...message });
  process.stdout.write('Content-Length: ' + Buffer.byteLength(body) + '\\r\\n\\r\\n' + body);
};
process.stdin.on('end', () => process.exit(0));
process.stdin.on('data', (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const end = buffer.indexOf('\\r\\n\\r\\n');
    if (end < 0) return;
    const length = Number(/content-length: *(\\d+)/i.exec(buffer.subarray(0, end).toString())?.[1]);
    if (buffer.length < end + 4 + length) return;
    const message = JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString());
    buffer = buffer.subarray(end + 4 + length);
    if (message.method === 'exit') process.exit(0);
    if (message.id === undefined || message.method === undefined) continue;
    let result = null;
    if (message.method === 'initialize') {
      result = { capabilities: { textDocumentSync: 1, completionProvider: { triggerCharacters: ['.'] } } };
    } else if (message.method === 'textDocument/completion') {
      result = [{ label: ${JSON.stringify(OTHER_ITEM)}, kind: 6 }];
    }
    send({ id: message.id, result });
  }
});
`;

// ---------------------------------------------------------------------------------------------------------------
// Helix in tmux
// ---------------------------------------------------------------------------------------------------------------

let sessions = 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class HelixSession {
  /**
   * A private tmux server on a socket in the test's folder (`-S`, like `-L` but removed with the folder): the user's
   * tmux and other tests are never touched.
   */
  readonly socket: string;
  readonly log: string;
  private started = false;

  constructor(
    private readonly dir: string,
    private readonly stub: OllamaStub,
  ) {
    this.log = join(dir, 'hx.log');
    this.socket = join(dir, `tmux-${++sessions}.sock`);
  }

  private tmux(args: string[]): string {
    const env = { ...process.env };
    delete env.TMUX; // run from inside tmux: still our own server
    delete env.TMUX_PANE;
    const res = spawnSync(tmux, ['-S', this.socket, ...args], { encoding: 'utf8', env, timeout: 10_000 });
    if (res.error) throw res.error;
    if (res.status !== 0) throw new Error(`tmux ${args.join(' ')}: exit ${res.status}: ${res.stderr}`);
    return res.stdout;
  }

  /** Starts `hx FILE` in the workspace and waits until Xencode (and the other server) have the document. */
  async open(file: string, configHome: string, config: string): Promise<void> {
    const environment = {
      XDG_CONFIG_HOME: configHome,
      XDG_CACHE_HOME: join(this.dir, 'cache'),
      XDG_DATA_HOME: join(this.dir, 'share'),
    };
    this.tmux([
      '-f', '/dev/null',
      'new-session', '-d', '-s', 'hx', '-x', String(WIDTH), '-y', String(HEIGHT), '-c', join(this.dir, 'workspace'),
      ...Object.entries(environment).flatMap(([key, value]) => ['-e', `${key}=${value}`]),
      hx, '-c', config, '-v', '--log', this.log, file,
    ]);
    this.started = true;
    await this.waitFor((pane) => /\bNOR\b/.test(pane) && pane.includes(file), 'Helix in normal mode with the file open');
    await this.waitForLog(/xencode -> \{"jsonrpc":"2\.0","method":"textDocument\/didOpen"/, 'Xencode initialized and sent didOpen');
    await this.waitForLog(/typescript-language-server -> \{"jsonrpc":"2\.0","method":"textDocument\/didOpen"/, 'the other server sent didOpen');
  }

  /** Keys as tmux names them (`Escape`, `Space`, `C-x`, `Enter`) or single characters. */
  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', 'hx', ...keys]);
  }

  /** Text typed literally. */
  type(text: string): void {
    this.tmux(['send-keys', '-t', 'hx', '-l', text]);
  }

  pane(): string {
    return this.tmux(['capture-pane', '-p', '-t', 'hx']);
  }

  /**
   * The buffer's line `n` (1-based, below 1000) as the screen shows it (with anything drawn over it), without the
   * gutter: Helix's default gutters are diagnostics, spacer, line number (3 columns), spacer, diff: 7 columns.
   */
  line(n: number, pane = this.pane()): string {
    const row = pane.split('\n').find((l) => l.slice(2, 5).trim() === String(n) && l.length > 5 && l[5] === ' ');
    return row?.slice(7) ?? '';
  }

  async waitFor(predicate: string | ((pane: string) => boolean), what: string, timeoutMs = WAIT_MS): Promise<string> {
    const test = typeof predicate === 'string' ? (pane: string) => pane.includes(predicate) : predicate;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pane = this.pane();
      if (test(pane)) return pane;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${this.report(pane)}`);
      await sleep(50);
    }
  }

  async waitForLog(pattern: RegExp, what: string, timeoutMs = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(existsSync(this.log) && pattern.test(readFileSync(this.log, 'utf8')))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${this.report(this.pane())}`);
      await sleep(50);
    }
  }

  /** Escape until the status line says NOR (an open popup can take one of them). */
  async normalMode(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      this.keys('Escape');
      try {
        await this.waitFor((pane) => /\bNOR\b/.test(pane), 'normal mode', 1000);
        return;
      } catch {
        /* once more */
      }
    }
    await this.waitFor((pane) => /\bNOR\b/.test(pane), 'normal mode');
  }

  report(pane: string): string {
    const log = existsSync(this.log) ? readFileSync(this.log, 'utf8').trimEnd().split('\n').slice(-60) : ['(no log)'];
    return [
      '--- screen ---', pane.trimEnd(),
      `--- ${this.log} (last ${log.length} lines) ---`, ...log.map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l)),
      '--- Ollama stand-in requests ---', this.stub.describeRequests(),
    ].join('\n');
  }

  kill(): void {
    if (!this.started) return;
    this.started = false;
    try {
      this.tmux(['kill-server']);
    } catch {
      /* already gone */
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------

let dir = '';
let stub: OllamaStub | undefined;
let helix: HelixSession | undefined;

afterEach(async () => {
  helix?.kill();
  helix = undefined;
  await stub?.stop();
  stub = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

/** The XENCODE_DATA_DIR the languages.toml gives the server Helix starts (one per test: `dir` is a fresh mkdtemp). */
const dataDir = () => join(dir, 'data');

/** A workspace with calc.ts, the stand-in with these models, and Helix editing calc.ts. */
async function start(source: string, models: StubModel[], extraSettings?: string): Promise<{ stub: OllamaStub; helix: HelixSession }> {
  dir = mkdtempSync(join(tmpdir(), 'xencode-e2e-hx-'));
  for (const sub of ['workspace', 'config/helix', 'data', 'cache', 'share']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'workspace', 'calc.ts'), source);
  const otherServer = join(dir, 'other-server.mjs');
  writeFileSync(otherServer, OTHER_SERVER);
  stub = new OllamaStub({ models });
  await stub.start();
  writeFileSync(
    join(dir, 'config', 'helix', 'languages.toml'),
    helixLanguages({ ollama: stub.url, dataDir: dataDir(), otherServer, extraSettings }),
  );
  const config = join(dir, 'config.toml');
  writeFileSync(config, '[editor]\nidle-timeout = 50\ncompletion-timeout = 50\n');
  helix = new HelixSession(dir, stub);
  await helix.open('calc.ts', join(dir, 'config'), config);
  return { stub, helix };
}

describe('Helix 25.01 with clients/helix/languages.toml', () => {
  it('shows the AI answer in the completion popup, and accepting it inserts it', async () => {
    const { stub, helix } = await start(OPEN_LINE, [fimModel(), chatModel()]);
    helix.keys('2', 'g', 'g', 'A'); // insert mode at the end of `  const total = `: a trigger character

    const pane = await helix.waitFor((p) => p.split('\n').some((l) => l.includes(ANSWER)), 'the AI item in the popup');
    // The popup is drawn below the cursor line; the buffer line is untouched until an item is picked.
    expect(helix.line(2).trimEnd()).toBe('  const total =');
    expect(pane).toContain(OTHER_ITEM);
    const fim = fimRequests(stub);
    expect(fim.length).toBeGreaterThanOrEqual(1);
    expect(fim.at(-1)!.body.prompt).toContain('const total = ');
    // The server Helix started records the item it offered: `xencode feedback stats` on its data directory, while
    // it runs, shows it, not yet accepted.
    const shown = await waitForFeedback(dataDir(), (s) => s.shown >= 1, 'the shown completion');
    expect(shown).toMatchObject({ accepted: 0, partlyAccepted: 0, rejected: 0 });

    // Tab selects the next item and previews it in the buffer; Enter accepts the selected one.
    const rows = pane.split('\n');
    const tabs = rows.findIndex((l) => l.includes(ANSWER)) < rows.findIndex((l) => l.includes(OTHER_ITEM)) ? 1 : 2;
    helix.keys(...Array<string>(tabs).fill('Tab'));
    await helix.waitFor((p) => helix.line(2, p).includes(ANSWER), 'the AI item selected and previewed in the buffer');
    helix.keys('Enter');
    await helix.waitFor((p) => !p.split('\n').slice(2).some((l) => l.includes(ANSWER)), 'the popup closed');
    await helix.normalMode();
    expect(helix.line(2).trimEnd()).toBe(`  const total = ${ANSWER}`);
    expect(helix.line(3).trimEnd()).toBe('  return total;');
    // Helix never runs the item's command: the server records the accept from the edit that inserted it.
    await helix.waitForLog(/took a shown completion: recorded as accepted/, 'the accept recorded from the edit');
    // …and the feedback store has the accept (committed within the 250 ms flush window).
    const accepted = await waitForFeedback(dataDir(), (s) => s.accepted >= 1, 'the accept');
    expect(accepted).toMatchObject({ accepted: 1, partlyAccepted: 0, rejected: 0 });
    expect(accepted.byLanguage.typescript).toMatchObject({ accepted: 1 });
    expect(accepted.byModel[FIM]).toMatchObject({ accepted: 1 });
  });

  it('does not hold up the popup for a slow model: the other server shows at once, the AI item on the next trigger', async () => {
    // The model answers long after Xencode's popup wait (completion.popupWaitMs, 400 ms) but within the deadline.
    const { stub, helix } = await start(OPEN_LINE, [fimModel({ latency: { firstTokenMs: 4000 } })], 'ensemble = { deadlineMs = 20000 }');
    helix.keys('2', 'g', 'g', 'A');

    const first = await helix.waitFor(OTHER_ITEM, "the other server's item in the popup");
    // Helix 25.01 shows the popup only when every server has answered: it is up, so Xencode answered while its model
    // was still running.
    expect(fimRequests(stub).filter((r) => r.completed).map(describeRequest), 'model answers complete before the popup showed').toEqual([]);
    expect(first).not.toContain(ANSWER);
    await stub.waitFor(() => fimRequests(stub).some((r) => r.completed), 15_000);
    const calls = fimRequests(stub).length;

    // The next trigger: leave insert mode (closes the popup) and enter it again at the same place.
    await helix.normalMode();
    await helix.waitFor((p) => !p.includes(OTHER_ITEM), 'the popup closed');
    helix.keys('A');
    const next = await helix.waitFor((p) => p.includes(ANSWER) && p.includes(OTHER_ITEM), 'both items in the popup');
    expect(next).toContain(OTHER_ITEM);
    expect(fimRequests(stub)).toHaveLength(calls); // the detached answer, from the cache: no second model call
  });

  it('lists the Xencode code actions on `space a` without asking a model, and runs Explain', async () => {
    const { stub, helix } = await start(WHOLE, [fimModel(), chatModel()]);
    helix.keys('2', 'g', 'g'); // a one-character selection inside the function: the target is the function

    helix.keys('Space', 'a');
    const pane = await helix.waitFor('Xencode: Write tests for function multiply', 'the code action menu');
    const titles = pane.split('\n').flatMap((l) => /(Xencode: [^│]*?)\s*$/.exec(l)?.[1] ?? []);
    expect(titles).toEqual([
      'Xencode: Refactor function multiply',
      'Xencode: Optimize function multiply',
      'Xencode: Add documentation to function multiply',
      'Xencode: Explain function multiply',
      'Xencode: Write tests for function multiply',
    ]);
    expect(stub.chatRequests()).toEqual([]);

    // Explain is a command (workspace/executeCommand); Helix shows the explanation as a message in the status line.
    helix.keys(...Array<string>(titles.indexOf('Xencode: Explain function multiply')).fill('Down'), 'Enter');
    await helix.waitFor(EXPLAIN_TEXT, 'the explanation in the status line');
    const chats = stub.chatRequests(CHAT);
    expect(chats).toHaveLength(1);
    expect(chatMessages(chats[0]!)).toContain('export function multiply');
  });

  // Helix resolves code actions on its main loop (`block_on`): the server offers it the command path instead, so the
  // edit arrives through workspace/applyEdit while the editor stays responsive.
  it('applies the Refactor action picked on `space a`', async () => {
    const { stub, helix } = await start(WHOLE, [fimModel(), chatModel()]);
    helix.keys('2', 'g', 'g', 'Space', 'a');
    await helix.waitFor('Xencode: Refactor function multiply', 'the code action menu');
    helix.keys('Enter'); // the first: Refactor

    await helix.waitFor(REFACTORED_MARK, 'the refactored function in the buffer', 5000); // the command path: < 1 s
    expect(helix.line(2)).toContain(`return a * b; // ${REFACTORED_MARK}`);
    expect(stub.chatRequests(CHAT).some((r) => chatMessages(r).includes('Refactor this'))).toBe(true);
  });

  it('shows the hover explanation on `space k`', async () => {
    const { stub, helix } = await start(WHOLE, [fimModel(), chatModel()]);
    helix.type('/multiply');
    helix.keys('Enter', ';'); // select the name, then collapse to the cursor on it

    helix.keys('Space', 'k');
    await helix.waitFor(HOVER_TEXT, 'the hover popup');
    const chats = stub.chatRequests(CHAT).filter((r) => chatMessages(r).includes('hover popup'));
    expect(chats).toHaveLength(1);
    expect(chatMessages(chats[0]!)).toContain('multiply');
  });
});
