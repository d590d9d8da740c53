/**
 * Which files may be recorded. A completion in a file the user keeps out of version control (`.env`, build output,
 * local config) or out of Xencode (`.xencodeignore`) must never become a feedback record: those are the files that
 * hold what should not leave the machine in an export.
 *
 * A file is never recorded when:
 * - it lies inside a `.git` folder;
 * - the `.gitignore` files from its repository's top level down to its folder ignore it, or the repository's
 *   `.git/info/exclude` does. Gitignore semantics, by the `ignore` package: a nested file's patterns are relative to
 *   its folder and override those above, `!` re-includes, `dir/` matches folders only, and a file in an ignored
 *   folder stays ignored whatever a deeper file says (git never reads that deeper file). The files of a chain are
 *   merged into one rule set, each pattern rebased to the chain's start (`rebasePattern`): judged file by file, a
 *   higher file's `build/` would still ignore what a deeper file's `!build/` re-included;
 * - the `.xencodeignore` files (same syntax, same places) ignore it. The two chains are judged separately and either
 *   one suffices: a `!pattern` in `.xencodeignore` cannot re-include what `.gitignore` leaves out.
 *
 * The chain starts at the git top level (the nearest folder upwards holding `.git`, a folder or a worktree's file),
 * which may lie above the workspace root; without one, at the outermost workspace root that holds the file (so a
 * root's ignore files cover the roots nested in it). A file outside every root is judged
 * by its own repository's files when it is in one, and is recordable otherwise: its path is reduced to its base
 * name (`workspaceRelativePath`), so nothing of where it lives is recorded.
 *
 * Matching ignores case (`ignore`'s default, git's on macOS and Windows): on a privacy rule, a pattern that
 * over-matches on Linux errs the safe way. Global git excludes (`core.excludesFile`) are not read.
 *
 * Parsed files and the merged rule set of each folder are cached; each file is re-stat'ed at most once per
 * `recheckMs` (2 s by default) and read again only when its modification time, size or inode changed, so a check
 * costs a few map look-ups and one match in steady state. `invalidate()` forgets everything at once.
 */

import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ignore from 'ignore';

type Ignore = ignore.Ignore;

export interface IgnoreRulesOptions {
  /** How long a parsed ignore file is trusted before its mtime is checked again (ms; default 2000). */
  readonly recheckMs?: number;
  /** The clock for `recheckMs` (tests). */
  readonly now?: () => number;
}

/**
 * The file path of a `file:` URI or of an absolute path; undefined for other schemes (`untitled:`, notebook
 * cells…), which name no file on disk.
 */
export function uriToPath(uriOrPath: string): string | undefined {
  if (uriOrPath.startsWith('/')) return resolve(uriOrPath);
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(uriOrPath)) return undefined;
  if (!uriOrPath.toLowerCase().startsWith('file:')) return undefined;
  try {
    return resolve(fileURLToPath(uriOrPath));
  } catch {
    return undefined;
  }
}

/** The relative path of `file` below `folder`, or undefined when it is not strictly inside. */
function pathInside(folder: string, file: string): string | undefined {
  const rel = relative(folder, file);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return rel;
}

/** The deepest root that holds `file` (nested roots: the innermost). */
function innermostRoot(roots: readonly string[], file: string): string | undefined {
  let best: string | undefined;
  for (const root of roots) {
    if (pathInside(root, file) !== undefined && (best === undefined || root.length > best.length)) best = root;
  }
  return best;
}

function normalizeRoots(roots: readonly string[]): string[] {
  return roots.map((root) => uriToPath(root)).filter((root): root is string => root !== undefined);
}

/**
 * The path a record names its file by: relative to the innermost workspace root that holds it (with `/`), else its
 * base name only. A URI that names no file (`untitled:Untitled-1`) gives its last segment.
 */
export function workspaceRelativePath(fileUri: string, roots: readonly string[]): string {
  const file = uriToPath(fileUri);
  if (file === undefined) {
    const rest = fileUri.replace(/^[A-Za-z][A-Za-z0-9+.-]*:/, '').replace(/[?#].*$/, '');
    const last = rest.split('/').filter((part) => part.length > 0).at(-1) ?? fileUri;
    try {
      return decodeURIComponent(last);
    } catch {
      return last;
    }
  }
  const root = innermostRoot(normalizeRoots(roots), file);
  if (root === undefined) return basename(file);
  return pathInside(root, file)!.split(sep).join('/');
}

/** One ignore file as last read: its patterns (undefined when absent or unreadable) and the version read. */
interface CachedFile {
  patterns: readonly string[] | undefined;
  version: string;
  checkedAt: number;
}

/** The rules for the files of one folder, and the versions of the ignore files they were built from. */
interface CachedMatcher {
  readonly rules: Ignore;
  readonly versions: string;
}

/** Cached entries beyond this are dropped all at once (a workspace's folders fit many times over). */
const MAX_CACHED = 20_000;

/**
 * The lines of an ignore file that are patterns: no blank lines or comments, unescaped trailing spaces removed
 * (as git does).
 */
export function parseIgnoreFile(content: string): string[] {
  return content
    .split(/\r?\n/)
    .map((line) => line.replace(/(?<!\\) +$/, ''))
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}

/** A folder path as a literal at the start of a pattern: glob characters and a leading `!` or `#` escaped. */
function escapeGlob(path: string): string {
  return path.replace(/[\\*?[\]]/g, (ch) => `\\${ch}`).replace(/^[!#]/, (ch) => `\\${ch}`);
}

/**
 * A pattern of the ignore file in folder `prefix` (relative to the chain's base, with `/`; '' for the base) as a
 * pattern relative to the base. Git reads a pattern with a slash at its start or middle relative to its file's
 * folder, and one without at any depth below it; so `/a` and `a/b` become `prefix/a` and `prefix/a/b`, and `*.log`
 * becomes `*.log` under `prefix/**`. A trailing `/` (folders only) and a leading `!` (re-include) are kept.
 */
export function rebasePattern(pattern: string, prefix: string): string {
  if (prefix === '') return pattern;
  const negative = pattern.startsWith('!');
  let body = negative ? pattern.slice(1) : pattern;
  const dirOnly = body.endsWith('/') && !body.endsWith('\\/');
  if (dirOnly) body = body.slice(0, -1);
  const base = escapeGlob(prefix);
  const rebased = body.startsWith('/') ? `${base}${body}` : body.includes('/') ? `${base}/${body}` : `${base}/**/${body}`;
  return `${negative ? '!' : ''}${rebased}${dirOnly ? '/' : ''}`;
}

type Chain = '.gitignore' | '.xencodeignore';

export class IgnoreRules {
  private roots: string[];
  private readonly recheckMs: number;
  private readonly now: () => number;
  private readonly files = new Map<string, CachedFile>();
  private readonly matchers = new Map<string, CachedMatcher>();
  /** Folder → the git top level at or above it ('' when none). */
  private readonly gitTops = new Map<string, string>();

  /** `roots`: the workspace folders, as absolute paths or `file:` URIs. */
  constructor(roots: readonly string[], options: IgnoreRulesOptions = {}) {
    this.roots = normalizeRoots(roots);
    this.recheckMs = options.recheckMs ?? 2000;
    this.now = options.now ?? Date.now;
  }

  /** The workspace folders changed (`workspace/didChangeWorkspaceFolders`). */
  setRoots(roots: readonly string[]): void {
    this.roots = normalizeRoots(roots);
    this.gitTops.clear();
    this.matchers.clear();
  }

  /** Forgets every parsed file and git top level: the next check reads them again. */
  invalidate(): void {
    this.files.clear();
    this.matchers.clear();
    this.gitTops.clear();
  }

  /**
   * Whether the file (a `file:` URI or an absolute path) must not be recorded. A URI of another scheme names no
   * file on disk and is never ignored.
   */
  isIgnored(fileUriOrPath: string): boolean {
    const file = uriToPath(fileUriOrPath);
    if (file === undefined) return false;
    if (file.split(sep).includes('.git')) return true;
    const base = this.chainBase(file);
    if (base === undefined) return false;
    const rel = pathInside(base, file);
    if (rel === undefined) return false;
    const posix = rel.split(sep).join('/');
    return this.matcher('.gitignore', base, posix).ignores(posix) || this.matcher('.xencodeignore', base, posix).ignores(posix);
  }

  /**
   * Where the chain of ignore files starts for `file`: the git top level of its innermost root (or of its own folder
   * when it is outside every root), else the outermost root that holds it (so a root's .gitignore covers its nested
   * roots too).
   */
  private chainBase(file: string): string | undefined {
    const inner = innermostRoot(this.roots, file);
    const top = this.gitTopLevel(inner ?? dirname(file));
    if (top !== undefined) return top;
    let outer: string | undefined;
    for (const root of this.roots) {
      if (pathInside(root, file) !== undefined && (outer === undefined || root.length < outer.length)) outer = root;
    }
    return outer;
  }

  /**
   * One rule set for the files of a folder: the ignore files from `base` down to the folder, each pattern rebased
   * to `base`, higher files first, so the last matching pattern wins as in git (a deeper file overrides those above)
   * and the `ignore` package's rule that nothing in an ignored folder is re-included holds across files. For the
   * git chain `.git/info/exclude` comes first (lowest precedence). Rebuilt when one of the files changed.
   */
  private matcher(chain: Chain, base: string, rel: string): Ignore {
    const folders = rel.split('/').slice(0, -1);
    const sources: { path: string; prefix: string }[] = [];
    if (chain === '.gitignore') sources.push({ path: join(base, '.git', 'info', 'exclude'), prefix: '' });
    for (let i = 0; i <= folders.length; i++) {
      const prefix = folders.slice(0, i).join('/');
      sources.push({ path: join(base, ...folders.slice(0, i), chain), prefix });
    }
    const files = sources.map((source) => this.file(source.path));
    const versions = files.map((file) => file.version).join('\0');
    const key = `${chain}\0${base}\0${folders.join('/')}`;
    const cached = this.matchers.get(key);
    if (cached !== undefined && cached.versions === versions) return cached.rules;
    const rules = ignore();
    files.forEach((file, i) => {
      if (file.patterns !== undefined) rules.add(file.patterns.map((pattern) => rebasePattern(pattern, sources[i]!.prefix)));
    });
    if (this.matchers.size >= MAX_CACHED) this.matchers.clear();
    this.matchers.set(key, { rules, versions });
    return rules;
  }

  /** One ignore file, read again when it changed (its version checked at most once per `recheckMs`). */
  private file(path: string): CachedFile {
    const now = this.now();
    const cached = this.files.get(path);
    if (cached !== undefined && now - cached.checkedAt < this.recheckMs) return cached;
    const version = fileVersion(path);
    if (cached !== undefined && cached.version === version) {
      cached.checkedAt = now;
      return cached;
    }
    let patterns: string[] | undefined;
    if (version !== '') {
      try {
        patterns = parseIgnoreFile(readFileSync(path, 'utf8'));
      } catch {
        patterns = undefined; // unreadable, or a folder: no rules
      }
    }
    const entry = { patterns, version, checkedAt: now };
    if (this.files.size >= MAX_CACHED) this.files.clear();
    this.files.set(path, entry);
    return entry;
  }

  /** The nearest folder at or above `dir` that holds `.git` (cached per folder asked about). */
  private gitTopLevel(dir: string): string | undefined {
    const cached = this.gitTops.get(dir);
    if (cached !== undefined) return cached === '' ? undefined : cached;
    let top = '';
    for (let current = dir; ; current = dirname(current)) {
      if (fileVersion(join(current, '.git')) !== '') {
        top = current;
        break;
      }
      if (dirname(current) === current) break;
    }
    if (this.gitTops.size >= MAX_CACHED) this.gitTops.clear();
    this.gitTops.set(dir, top);
    return top === '' ? undefined : top;
  }
}

/** A file's modification time, size and inode, '' when it is absent or cannot be stat'ed. */
function fileVersion(path: string): string {
  try {
    const stat = statSync(path, { throwIfNoEntry: false });
    return stat === undefined ? '' : `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
  } catch {
    return '';
  }
}
