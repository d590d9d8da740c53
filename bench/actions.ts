/**
 * Code actions and hovers, seen from the editor: the cost of listing actions (which editors may ask for on every
 * cursor move), of a hover answered from the cache, and the server's own time around an action's model call.
 *
 *   npm run build && node dist/bench/actions.js [--positions 300]
 *
 * Positions spread over zod's types.ts (a real 5,136-line TypeScript file). The stand-in answers at once, so the
 * action and hover rows are Xencode's own time (prompt, extraction, re-indent, the syntax check of the edited
 * file, the workspace edit) plus the HTTP round trip to the stand-in. Writes bench/results/actions.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CodeAction } from 'vscode-languageserver-protocol';
import { PACKAGE_ROOT } from '../server/paths.js';
import { LspClient } from '../test/support/lsp-client.js';
import { OllamaStub } from '../test/support/ollama-stub.js';
import { markdownTable, ms, summarize } from './stats.js';

const { values } = parseArgs({ options: { positions: { type: 'string', default: '300' } } });
const SOURCE = readFileSync(join(PACKAGE_ROOT, 'node_modules', 'zod', 'src', 'v3', 'types.ts'), 'utf8');
const LINES = SOURCE.split('\n');
const URI = 'file:///bench/types.ts';
const CHAT = 'qwen2.5-coder:7b';

// Positions on non-blank lines, spread evenly over the file, at the first non-blank character.
const count = Number(values.positions);
const positions = Array.from({ length: count }, (_, i) => Math.floor(((i + 0.5) * LINES.length) / count))
  .filter((line) => LINES[line]!.trim() !== '')
  .map((line) => ({ line, character: LINES[line]!.length - LINES[line]!.trimStart().length }));

const stub = new OllamaStub({
  models: [{ name: CHAT, rules: [{ messageIncludes: 'hover popup', answer: 'Explains the code in one line.' }], defaultAnswer: 'No code here.' }],
});
await stub.start();
const client = new LspClient({ env: { XENCODE_LOG: 'warn' } });
await client.initialize({ xencode: { ollama: { host: stub.url }, models: [CHAT] } });
await client.open(URI, SOURCE);

async function timed<T>(run: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const result = await run();
  return [performance.now() - started, result];
}

// Listing: no model.
const listing: number[] = [];
let listed = 0;
for (const position of positions) {
  const [t, actions] = await timed(() => client.codeActions(URI, { start: position, end: position }));
  listing.push(t);
  if ((actions as CodeAction[]).some((a) => !a.disabled)) listed++;
}

// Hovers: the first asks the stand-in, the second is a cache hit.
const hoverMiss: number[] = [];
const hoverHit: number[] = [];
for (const position of positions) {
  const [miss] = await timed(() => client.hover(URI, position));
  const [hit, answer] = await timed(() => client.hover(URI, position));
  if (answer) {
    hoverMiss.push(miss);
    hoverHit.push(hit);
  }
}

// Refactor through resolve on the first 40 targets: the stand-in answers with the target's first line only, so
// every step runs (extraction, re-indent, a full parse of the edited 5,000-line file) up to the refusal.
const resolve: number[] = [];
for (const position of positions.slice(0, 40)) {
  const actions = (await client.codeActions(URI, { start: position, end: position })) as CodeAction[];
  const refactor = actions.find((a) => a.title.startsWith('Xencode: Refactor') && !a.disabled);
  if (!refactor) continue;
  const data = refactor.data as { range: { start: { line: number } } };
  stub.setModel({ name: CHAT, defaultAnswer: '```ts\n' + LINES[data.range.start.line]!.trim() + '\n```' });
  const [t] = await timed(() => client.resolveCodeAction(refactor));
  resolve.push(t);
}

await client.shutdown();
await stub.stop();

const rows = [
  ['codeAction (list, no model)', ...row(listing)],
  ['hover, cache miss (stand-in answers at once)', ...row(hoverMiss)],
  ['hover, cache hit', ...row(hoverHit)],
  ['codeAction/resolve (stand-in answers at once)', ...row(resolve)],
];
function row(samples: number[]): string[] {
  const s = summarize(samples);
  return [String(s.n), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max)];
}
const table = markdownTable(['round trip over stdio', 'n', 'p50', 'p90', 'p99', 'max'], rows);
const report = `# Code actions and hovers

\`node dist/bench/actions.js --positions ${count}\` on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}.
zod's types.ts (${LINES.length} lines); ${positions.length} positions spread over the file; actions listed at ${listed}.

${table}

Listing is a tree-sitter query around the cursor and no model call, so editors may ask on every cursor move.
A resolve includes a full parse of the edited file (the "parses no worse" check) and the HTTP call to the
stand-in, which answers at once: on a real model, the model's own time comes on top.
`;
process.stdout.write(`${table}\n`);
mkdirSync(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PACKAGE_ROOT, 'bench', 'results', 'actions.md'), report);
