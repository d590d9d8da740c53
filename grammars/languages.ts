/**
 * The language registry: which LSP languageIds and file extensions Xencode parses, with which tree-sitter grammar,
 * and which query folder (grammars/queries/<queries>/*.scm) describes its scopes and imports.
 * A language missing here still gets completions; its context and cache key come from plain text.
 */
export interface LanguageEntry {
  /** Our name for the language; also the cache-key and log name. */
  readonly name: string;
  /** LSP languageIds that map to it (what editors send in didOpen). */
  readonly languageIds: readonly string[];
  /** File extensions (with the dot), used when the languageId is unknown or generic. */
  readonly extensions: readonly string[];
  /** npm package of the grammar and the export inside it ('' = the module itself). */
  readonly grammarPackage: string;
  readonly grammarExport: string;
  /** Folder under grammars/queries holding scopes.scm and imports.scm. */
  readonly queries: string;
}

export const LANGUAGES: readonly LanguageEntry[] = [
  {
    name: 'typescript',
    languageIds: ['typescript'],
    extensions: ['.ts', '.mts', '.cts'],
    grammarPackage: 'tree-sitter-typescript',
    grammarExport: 'typescript',
    queries: 'typescript',
  },
  {
    name: 'tsx',
    languageIds: ['typescriptreact', 'tsx'],
    extensions: ['.tsx'],
    grammarPackage: 'tree-sitter-typescript',
    grammarExport: 'tsx',
    queries: 'typescript',
  },
  {
    name: 'javascript',
    languageIds: ['javascript'],
    extensions: ['.js', '.mjs', '.cjs'],
    grammarPackage: 'tree-sitter-javascript',
    grammarExport: '',
    queries: 'javascript',
  },
  {
    name: 'jsx',
    languageIds: ['javascriptreact', 'jsx'],
    extensions: ['.jsx'],
    grammarPackage: 'tree-sitter-javascript',
    grammarExport: '',
    queries: 'javascript',
  },
];
