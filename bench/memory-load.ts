/**
 * A busy editor session, for bench/startup.ts's memory under load: completions spread over the open documents at a
 * steady rate, a share of them cancelled right after being sent (`$/cancelRequest`), and `didChange` edits between
 * them (typing the start of the answer just shown, or a new line elsewhere). The stand-in model answers at once, and
 * each time with a different answer, so the answer cache fills as a long session would fill it.
 */
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import type { CompletionList } from 'vscode-languageserver-protocol';
import type { LspClient } from '../test/support/lsp-client.js';
import type { OllamaStub, StubModel } from '../test/support/ollama-stub.js';
import { seededRandom } from './stats.js';

export interface LoadOptions {
  readonly completions: number;
  readonly seconds: number;
  /** Share of completions cancelled just after they were sent. */
  readonly cancelShare: number;
  /** Share of completions preceded by an edit. */
  readonly editShare: number;
  /** Completions waiting for their answer at most (an editor supersedes older ones; this keeps the pace honest). */
  readonly maxOutstanding: number;
  /** Called every `sampleMs` while the load runs. */
  readonly sample: () => void;
  readonly sampleMs: number;
}

export interface LoadDocument {
  readonly uri: string;
  /** Kept in step with the edits sent, so positions stay valid. */
  readonly lines: string[];
}

export interface LoadResult {
  readonly sent: number;
  readonly answered: number;
  readonly cancelled: number;
  readonly edits: number;
  readonly seconds: number;
}


/** The k-th answer: one to six lines, different every time. */
function answerFor(k: number, rand: () => number): string {
  const lines = 1 + Math.floor(rand() * 6);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(`${i ? '  ' : ''}const value${k}_${i} = compute${k % 97}(input${i}, ${Math.floor(rand() * 1e6)});`);
  return out.join('\n');
}

export async function driveLoad(client: LspClient, model: StubModel, stub: OllamaStub, docs: LoadDocument[], options: LoadOptions): Promise<LoadResult> {
  const rand = seededRandom(10);
  const intervalMs = (options.seconds * 1000) / options.completions;
  const outstanding = new Set<Promise<unknown>>();
  let answered = 0;
  let cancelled = 0;
  let edits = 0;
  let lastShown: { doc: LoadDocument; line: number; text: string } | undefined;
  const sampler = setInterval(options.sample, options.sampleMs);
  const started = performance.now();
  try {
    for (let k = 0; k < options.completions; k++) {
      const due = started + k * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      while (outstanding.size >= options.maxOutstanding) await Promise.race(outstanding);
      // The stand-in's record of every request (prompts included) would otherwise grow in this process.
      if (k % 100 === 0) stub.reset();
      if (rand() < options.editShare) {
        edits++;
        if (lastShown && rand() < 0.5) {
          // Typing the start of the answer just shown (typed-ahead reuse answers the next request there).
          const { doc, line, text } = lastShown;
          const typed = text.slice(0, 1 + Math.floor(rand() * Math.min(8, text.length)));
          if (!typed.includes('\n')) {
            await client.insert(doc.uri, { line, character: doc.lines[line]!.length }, typed);
            doc.lines[line] += typed;
            lastShown = { doc, line, text: text.slice(typed.length) };
            model.defaultAnswer = answerFor(k, rand);
            outstanding.add(track(request(doc, line)));
            continue;
          }
        }
        const doc = docs[Math.floor(rand() * docs.length)]!;
        const line = 1 + Math.floor(rand() * (doc.lines.length - 1));
        const inserted = `  let edit${k} = ${k};`;
        await client.insert(doc.uri, { line, character: 0 }, `${inserted}\n`);
        doc.lines.splice(line, 0, inserted);
      }
      const doc = docs[Math.floor(rand() * docs.length)]!;
      const line = 1 + Math.floor(rand() * (doc.lines.length - 1));
      model.defaultAnswer = answerFor(k, rand);
      outstanding.add(track(request(doc, line)));
    }
    await Promise.all(outstanding);
  } finally {
    clearInterval(sampler);
  }
  return { sent: options.completions, answered, cancelled, edits, seconds: (performance.now() - started) / 1000 };

  /** A completion at the end of `line` (where the decision rule always completes), cancelled for a share. */
  function request(doc: LoadDocument, line: number): Promise<unknown> {
    const source = new CancellationTokenSource();
    const position = { line, character: doc.lines[line]!.length };
    const sent = client.connection.sendRequest<CompletionList>(
      'textDocument/completion',
      { textDocument: { uri: doc.uri }, position, context: { triggerKind: 1 } },
      source.token,
    );
    if (rand() < options.cancelShare) {
      cancelled++;
      source.cancel();
    }
    return sent.then(
      (list) => {
        const item = list.items[0];
        if (!item?.textEdit) return;
        answered++;
        // The edit replaces the word before the cursor too: what follows the cursor is the answer.
        const word = /[\p{L}\p{N}_$]*$/u.exec(doc.lines[line]!)![0];
        lastShown = { doc, line, text: item.textEdit.newText.slice(word.length) };
      },
      () => undefined, // cancelled: RequestCancelled
    );
  }

  function track(promise: Promise<unknown>): Promise<unknown> {
    const tracked: Promise<unknown> = promise.finally(() => outstanding.delete(tracked));
    return tracked;
  }
}
