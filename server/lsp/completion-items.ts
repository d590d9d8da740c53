import {
  CompletionItemKind,
  InsertTextFormat,
  MarkupKind,
  type CompletionItem,
  type InlineCompletionItem,
  type Range,
} from 'vscode-languageserver/node';
import type { CompletionAnswer } from '../engine/engine.js';
import { COMMANDS, type ClientFeatures } from './capabilities.js';

/** The replaced range and text shared by the popup and the inline item: from the word's start to the line's end. */
export interface Replacement {
  readonly range: Range;
  readonly newText: string;
}

export function replacementFor(answer: CompletionAnswer, toPosition: (offset: number) => Range['start']): Replacement {
  const { context } = answer;
  // Answers come with \n; a CRLF document gets its own line endings back.
  const crlf = context.prefix.includes('\r\n') || context.suffix.includes('\r\n');
  const text = crlf ? answer.text.replace(/\r?\n/g, '\r\n') : answer.text;
  const start = context.cursorOffset - context.wordPrefix.length;
  const end = context.cursorOffset + context.lineSuffix.length;
  // The rest of the line is kept after the answer, so replacing to the end of the line loses nothing.
  return { range: { start: toPosition(start), end: toPosition(end) }, newText: context.wordPrefix + text + context.lineSuffix };
}

function firstLine(text: string): string {
  const lines = text.split('\n');
  return lines.find((l) => l.trim() !== '') ?? '';
}

/** A short line on where the answer came from: the model alone, or how many of the asked models agree. */
export function provenanceBrief(answer: CompletionAnswer): string {
  const p = answer.provenance;
  if (p.asked.length <= 1 && p.answeredInTime.length <= 1) return `xencode · ${p.model}`;
  return `xencode · ${p.agreeing.length}/${p.asked.length} agree`;
}

function provenanceFooter(answer: CompletionAnswer): string {
  const p = answer.provenance;
  const parts = [`${p.method} (${p.rule})`, `from ${p.model}`];
  if (p.asked.length > 1) {
    parts.push(`agreeing: ${p.agreeing.join(', ') || 'none'}`);
    parts.push(`in time: ${p.answeredInTime.length}/${p.asked.length}`);
  }
  parts.push(`${Math.round(p.latencyMs)} ms`);
  return parts.join(' · ');
}

/** The answer as a popup item (Helix, eglot, nvim-cmp, blink…): label = typed word + first line of the answer. */
export function popupItem(answer: CompletionAnswer, replacement: Replacement, features: ClientFeatures): CompletionItem {
  const { context, text } = answer;
  const startsOnNextLine = text.startsWith('\n');
  const head = startsOnNextLine ? '⏎ ' + firstLine(text).trim() : context.wordPrefix + firstLine(text);
  const lineCount = text.split('\n').length;
  const more = lineCount > 1 ? ` (+${lineCount - 1} lines)` : '';
  const fence = context.language ?? context.languageId;
  const body = context.linePrefix.trimStart() + text;
  const item: CompletionItem = {
    label: head.trimEnd() || text.trim(),
    kind: CompletionItemKind.Text,
    detail: provenanceBrief(answer),
    documentation: features.markdownDocumentation
      ? { kind: MarkupKind.Markdown, value: '```' + fence + '\n' + body + '\n```\n\n*' + provenanceFooter(answer) + '*' }
      : body,
    // Clients filter on what lies between the range start and the cursor: the typed word.
    filterText: context.wordPrefix + text,
    insertTextFormat: InsertTextFormat.PlainText,
    textEdit: { range: replacement.range, newText: replacement.newText },
    command: { title: 'Accept Xencode completion', command: COMMANDS.accept, arguments: [{ id: answer.id }] },
    data: { xencode: answer.id },
  };
  if (features.completionLabelDetails) item.labelDetails = { detail: more, description: provenanceBrief(answer) };
  return item;
}

/** The same answer as ghost text. */
export function inlineItem(answer: CompletionAnswer, replacement: Replacement): InlineCompletionItem {
  return {
    insertText: replacement.newText,
    range: replacement.range,
    command: { title: 'Accept Xencode completion', command: COMMANDS.accept, arguments: [{ id: answer.id }] },
  };
}
