import { execFile, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * The git a mined dataset reads: commands run through execFile/spawn (no shell, so no path or message is ever
 * interpreted), every output bounded, the user's pager, colours, external diff drivers and text conversions off.
 */

/** Output larger than this is refused by execFile (a maxBuffer error), which callers treat as "too large". */
const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;
const BASE_ARGS = ['--no-pager', '-c', 'color.ui=never', '-c', 'core.quotepath=off'];

export class GitError extends Error {
  constructor(message: string, readonly tooLarge = false, readonly missing = false) {
    super(message);
  }
}

/** Runs `git -C cwd …args`; its stdout, or a GitError with git's own message. */
export function git(cwd: string, args: readonly string[], maxBytes = DEFAULT_MAX_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', [...BASE_ARGS, '-C', cwd, ...args], { maxBuffer: maxBytes, encoding: 'utf8', env: gitEnv() }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return reject(new GitError('git is not installed (or not on PATH); install git to mine a repository', false, true));
      if (code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return reject(new GitError(`git ${args[0]} printed more than ${maxBytes} bytes`, true));
      reject(new GitError(stderr.trim().split('\n')[0] || err.message));
    });
  });
}

function gitEnv(): NodeJS.ProcessEnv {
  // Never wait on a credential prompt; messages in English so they can be recognised.
  return { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', GIT_PAGER: 'cat' };
}

/** The repository's top folder, or why `path` is not a repository with history. */
export async function repositoryRoot(path: string): Promise<{ root: string } | { problem: string }> {
  try {
    if (!statSync(path).isDirectory()) return { problem: `--repo ${path} is not a folder` };
  } catch {
    return { problem: `--repo ${path} does not exist` };
  }
  let root: string;
  try {
    root = (await git(path, ['rev-parse', '--show-toplevel'])).trim();
  } catch (err) {
    if ((err as GitError).missing) return { problem: (err as Error).message };
    return { problem: `${path} is not a git repository (git: ${(err as Error).message}); pass --repo the folder of a clone` };
  }
  try {
    await git(root, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  } catch {
    return { problem: `the git repository ${root} has no commits yet` };
  }
  return { root };
}

export interface CommitInfo {
  readonly hash: string;
  /** Empty for a root commit (merges are never listed). */
  readonly parent: string;
  readonly subject: string;
}

/**
 * The repository's non-merge commits reachable from HEAD, newest first, streamed line by line (a history of any size
 * in constant memory). `since` (ms) goes to git as `@seconds`: git's own date parser gives up on years past 2099 and
 * then silently lists everything. Breaking out of the loop stops git.
 */
export async function* commitsOf(root: string, since?: number): AsyncGenerator<CommitInfo> {
  const args = [...BASE_ARGS, '-C', root, 'log', '--no-merges', '--format=%H%x09%P%x09%s', ...(since !== undefined ? [`--since=@${Math.max(0, Math.floor(since / 1000))}`] : []), 'HEAD'];
  const child = spawn('git', args, { env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4096)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(new GitError((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'git is not installed (or not on PATH)' : err.message)));
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => undefined); // observed below; a rejection must not go unhandled while lines are read
  let finished = false;
  try {
    for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
      const [hash, parents, ...subject] = line.split('\t');
      if (!hash || parents === undefined) continue;
      yield { hash, parent: parents.split(' ')[0] ?? '', subject: subject.join('\t') };
    }
    finished = true;
  } finally {
    if (!finished) child.kill();
  }
  const code = await exited;
  if (code !== 0) throw new GitError(`git log failed: ${stderr.trim().split('\n')[0] ?? `exit code ${code}`}`);
}

/** A file's text at a commit: 'missing' when the commit has no such file, 'unreadable' when over `maxBytes` or binary. */
export async function fileAt(root: string, commit: string, path: string, maxBytes: number): Promise<{ text: string } | 'missing' | 'unreadable'> {
  try {
    const text = await git(root, ['cat-file', 'blob', `${commit}:${path}`], maxBytes);
    return text.includes('\0') ? 'unreadable' : { text };
  } catch (err) {
    return (err as GitError).tooLarge ? 'unreadable' : 'missing';
  }
}
