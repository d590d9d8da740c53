/**
 * Golden cases for answer extraction: one `.txt` file per case under cases/ (any depth), in sections:
 *
 *   # what the case shows (lines starting with '#' before the first section)
 *   --- language          the document's languageId (typescript, python, …); typescript when absent
 *   --- grammar           `none`: extract without a grammar even where the registry has one
 *   --- answer            what the model returned
 *   --- code fence|bare   what extractCode gives, and from where; `<undefined>` (no source word) for nothing
 *   --- heuristic-code fence|bare   the same, without a grammar (the line heuristics)
 *   --- doc               what extractDocComment gives; `<undefined>` for nothing
 *   --- markdown          what extractMarkdown gives
 *   --- thinking          what stripThinking gives
 *
 * A section's text is every line between its header and the next header; the line break before the next header
 * is not part of it. A case needs at least one expectation.
 */
import { loadGoldenFiles, splitSections } from '../../support/golden-files.js';
import { LANGUAGES } from '../../../grammars/languages.js';
import { languageByName, type SyntaxLanguage } from '../../../server/documents/syntax.js';

export const UNDEFINED_MARK = '<undefined>';

export interface ExpectedCode {
  readonly code: string;
  readonly source: 'fence' | 'bare';
}

export interface ExtractCase {
  readonly name: string;
  readonly file: string;
  readonly description: string;
  readonly languageId: string;
  /** The registry's grammar for the languageId, unless the case says `--- grammar none`. */
  readonly language: SyntaxLanguage | undefined;
  readonly answer: string;
  /** undefined: not checked; null: extractCode gives undefined. */
  readonly code: ExpectedCode | null | undefined;
  readonly heuristicCode: ExpectedCode | null | undefined;
  readonly doc: string | null | undefined;
  readonly markdown: string | undefined;
  readonly thinking: string | undefined;
}

const KNOWN = new Set(['language', 'grammar', 'answer', 'code', 'heuristic-code', 'doc', 'markdown', 'thinking']);

export function parseCase(text: string, file: string, name: string): ExtractCase {
  const { description, sections } = splitSections(text, name, KNOWN);

  const section = (kind: string): { arg: string | undefined; text: string } | undefined => {
    const found = sections.filter((s) => s.kind === kind);
    if (found.length > 1) throw new Error(`${name}: more than one '--- ${kind}' section`);
    return found[0] && { arg: found[0].arg, text: found[0].lines.join('\n') };
  };
  const code = (kind: string): ExpectedCode | null | undefined => {
    const s = section(kind);
    if (!s) return undefined;
    if (s.text === UNDEFINED_MARK) return null;
    if (s.arg !== 'fence' && s.arg !== 'bare') throw new Error(`${name}: '--- ${kind}' needs 'fence' or 'bare'`);
    return { code: s.text, source: s.arg };
  };
  const optional = (kind: string): string | null | undefined => {
    const s = section(kind);
    return s === undefined ? undefined : s.text === UNDEFINED_MARK ? null : s.text;
  };

  const answer = section('answer');
  if (!answer) throw new Error(`${name}: no '--- answer' section`);
  const languageId = section('language')?.text.trim() || 'typescript';
  const entry = LANGUAGES.find((l) => l.languageIds.includes(languageId));
  const language = section('grammar')?.text.trim() === 'none' || !entry ? undefined : languageByName(entry.name);
  const result: ExtractCase = {
    name,
    file,
    description,
    languageId,
    language,
    answer: answer.text,
    code: code('code'),
    heuristicCode: code('heuristic-code'),
    doc: optional('doc'),
    markdown: optional('markdown') ?? undefined,
    thinking: optional('thinking') ?? undefined,
  };
  const expectations = [result.code, result.heuristicCode, result.doc, result.markdown, result.thinking];
  if (expectations.every((e) => e === undefined)) throw new Error(`${name}: nothing expected`);
  return result;
}

/** Every case under `dir`, sorted by path. */
export function loadCases(dir: string): ExtractCase[] {
  return loadGoldenFiles(dir, parseCase);
}
