import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { IgnoreRules, parseIgnoreFile, rebasePattern, uriToPath, workspaceRelativePath } from '../../../server/feedback/ignore-rules.js';

const temps: string[] = [];

/** A real temporary folder holding `files` (path → content; a path ending in '/' is an empty folder). */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'xencode-ignore-'));
  temps.push(dir);
  for (const [path, content] of Object.entries(files)) write(dir, path, content);
  return dir;
}

function write(dir: string, path: string, content: string): void {
  const full = join(dir, path);
  if (path.endsWith('/')) {
    mkdirSync(full, { recursive: true });
    return;
  }
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
}

afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The files of `paths` (relative to `dir`) that `rules` ignores. */
function ignoredOf(rules: IgnoreRules, dir: string, paths: readonly string[]): string[] {
  return paths.filter((path) => rules.isIgnored(join(dir, path)));
}

describe('IgnoreRules: .gitignore', () => {
  it('ignores what the root .gitignore matches, with negations and folder-only patterns', () => {
    const dir = tree({
      '.git/': '',
      '.gitignore': '# build output\n*.log\n!keep.log\nbuild/\n.env\n/top-only.ts\n',
      'src/index.ts': '',
    });
    const rules = new IgnoreRules([dir]);
    const files = ['a.log', 'src/deep/b.log', 'keep.log', 'build/out.js', 'src/build/x.js', 'src/build', '.env', 'src/.env', 'top-only.ts',
      'src/top-only.ts', 'src/index.ts', 'README.md'];
    expect(ignoredOf(rules, dir, files)).toEqual(['a.log', 'src/deep/b.log', 'build/out.js', 'src/build/x.js', '.env', 'src/.env', 'top-only.ts']);
  });

  it("reads nested .gitignore files relative to their folder, deeper ones overriding the root's", () => {
    const dir = tree({
      '.git/': '',
      '.gitignore': '*.log\n',
      'src/.gitignore': 'generated/\n/local.ts\nfixtures/*.json\n!important.log\n',
    });
    const rules = new IgnoreRules([dir]);
    const files = ['src/generated/a.ts', 'src/deep/generated/b.ts', 'generated/c.ts', 'src/local.ts', 'src/deep/local.ts', 'local.ts',
      'src/fixtures/a.json', 'src/deep/fixtures/a.json', 'src/important.log', 'src/deep/important.log', 'important.log', 'src/other.log'];
    expect(ignoredOf(rules, dir, files)).toEqual(['src/generated/a.ts', 'src/deep/generated/b.ts', 'src/local.ts', 'src/fixtures/a.json',
      'important.log', 'src/other.log']);
  });

  it('never re-includes a file inside an ignored folder, but a deeper file may re-include a folder', () => {
    const dir = tree({
      '.git/': '',
      '.gitignore': 'logs/\nbuild/\n',
      'logs/.gitignore': '!keep.log\n',
      'pkg/.gitignore': '!build/\n',
    });
    const rules = new IgnoreRules([dir]);
    expect(rules.isIgnored(join(dir, 'logs/keep.log'))).toBe(true);
    expect(rules.isIgnored(join(dir, 'build/x.js'))).toBe(true);
    expect(rules.isIgnored(join(dir, 'pkg/build/x.js'))).toBe(false);
    expect(rules.isIgnored(join(dir, 'pkg/sub/build/x.js'))).toBe(false);
  });

  it('ignores everything inside .git and honours .git/info/exclude', () => {
    const dir = tree({ '.git/info/exclude': 'scratch/\n', 'src/a.ts': '' });
    const rules = new IgnoreRules([dir]);
    expect(rules.isIgnored(join(dir, '.git/config'))).toBe(true);
    expect(rules.isIgnored(join(dir, 'vendor/lib/.git/HEAD'))).toBe(true);
    expect(rules.isIgnored(join(dir, 'scratch/notes.ts'))).toBe(true);
    expect(rules.isIgnored(join(dir, 'src/a.ts'))).toBe(false);
    expect(rules.isIgnored(join(dir, '.gitignore'))).toBe(false);
  });

  it('reads .gitignore files from the git top level when the root lies below it', () => {
    const dir = tree({
      '.git/': '',
      '.gitignore': 'secrets/\n/packages/app/tmp/\n',
      'packages/.gitignore': '*.local.ts\n',
      'packages/app/.gitignore': 'coverage/\n',
    });
    const root = join(dir, 'packages/app');
    const rules = new IgnoreRules([root]);
    const files = ['secrets/a.ts', 'tmp/b.ts', 'config.local.ts', 'coverage/c.json', 'src/index.ts'];
    expect(files.filter((f) => rules.isIgnored(join(root, f)))).toEqual(['secrets/a.ts', 'tmp/b.ts', 'config.local.ts', 'coverage/c.json']);
  });

  it('treats a worktree (a .git file) as a top level too', () => {
    const dir = tree({ '.git': 'gitdir: /elsewhere/.git/worktrees/wt\n', '.gitignore': 'dist/\n', 'app/src/a.ts': '' });
    const rules = new IgnoreRules([join(dir, 'app')]);
    expect(rules.isIgnored(join(dir, 'app/dist/a.js'))).toBe(true);
    expect(rules.isIgnored(join(dir, 'app/src/a.ts'))).toBe(false);
  });

  it('starts at the workspace root when there is no repository', () => {
    const dir = tree({ '.gitignore': '.env*\n', 'nested/root/.gitignore': 'out/\n' });
    const rules = new IgnoreRules([dir, join(dir, 'nested/root')]);
    expect(rules.isIgnored(join(dir, '.env.local'))).toBe(true);
    expect(rules.isIgnored(join(dir, 'nested/root/.env'))).toBe(true); // the outer root's file covers the nested root
    expect(rules.isIgnored(join(dir, 'nested/root/out/a.js'))).toBe(true);
    expect(rules.isIgnored(join(dir, 'nested/root/src/a.ts'))).toBe(false);
  });

  it('matches case-insensitively (errs towards not recording)', () => {
    const dir = tree({ '.git/': '', '.gitignore': 'Secrets/\n' });
    expect(new IgnoreRules([dir]).isIgnored(join(dir, 'secrets/a.ts'))).toBe(true);
  });
});

describe('IgnoreRules: .xencodeignore', () => {
  it('ignores what root and nested .xencodeignore files match, on top of .gitignore', () => {
    const dir = tree({
      '.git/': '',
      '.gitignore': '*.log\n',
      '.xencodeignore': 'private/\n*.pem\n',
      'src/.xencodeignore': 'customer-data.ts\n!allowed.pem\n',
    });
    const rules = new IgnoreRules([dir]);
    const files = ['private/notes.ts', 'src/private/x.ts', 'cert.pem', 'src/allowed.pem', 'src/customer-data.ts', 'src/deep/customer-data.ts',
      'customer-data.ts', 'app.log', 'src/index.ts'];
    expect(ignoredOf(rules, dir, files)).toEqual(['private/notes.ts', 'src/private/x.ts', 'cert.pem', 'src/customer-data.ts',
      'src/deep/customer-data.ts', 'app.log']);
  });

  it('cannot re-include what .gitignore ignores', () => {
    const dir = tree({ '.git/': '', '.gitignore': '.env\n', '.xencodeignore': '!.env\n' });
    expect(new IgnoreRules([dir]).isIgnored(join(dir, '.env'))).toBe(true);
  });
});

describe('IgnoreRules: files outside the roots, URIs', () => {
  it('records a file outside every root unless its own repository ignores it', () => {
    const root = tree({ '.git/': '', '.gitignore': '*.tmp\n' });
    const outside = tree({ 'notes.tmp': '', 'script.ts': '' });
    const otherRepo = tree({ '.git/': '', '.gitignore': 'private/\n' });
    const rules = new IgnoreRules([root]);
    expect(rules.isIgnored(join(outside, 'notes.tmp'))).toBe(false); // the root's rules are not its rules
    expect(rules.isIgnored(join(outside, 'script.ts'))).toBe(false);
    expect(rules.isIgnored(join(otherRepo, 'private/a.ts'))).toBe(true);
    expect(rules.isIgnored(join(otherRepo, 'public/a.ts'))).toBe(false);
  });

  it('takes file: URIs, with percent-encoding, for files and roots', () => {
    const dir = tree({ '.git/': '', '.gitignore': 'my secrets/\n' });
    const rules = new IgnoreRules([pathToFileURL(dir).href]);
    expect(rules.isIgnored(pathToFileURL(join(dir, 'my secrets/a.ts')).href)).toBe(true);
    expect(rules.isIgnored(pathToFileURL(join(dir, 'src/a.ts')).href)).toBe(false);
    expect(uriToPath(pathToFileURL(join(dir, 'my secrets/a.ts')).href)).toBe(join(dir, 'my secrets/a.ts'));
  });

  it('never ignores URIs that name no file', () => {
    const rules = new IgnoreRules(['/']);
    expect(rules.isIgnored('untitled:Untitled-1')).toBe(false);
    expect(rules.isIgnored('vscode-notebook-cell:/home/u/nb.ipynb#W1sZmlsZQ%3D%3D')).toBe(false);
    expect(uriToPath('untitled:Untitled-1')).toBeUndefined();
    expect(uriToPath('relative/path.ts')).toBeUndefined();
  });

  it('names a file by its workspace-relative path, its base name outside every root', () => {
    const roots = ['/work/project', pathToFileURL('/work/project/packages/app').href, '/srv/other'];
    expect(workspaceRelativePath('file:///work/project/src/index.ts', roots)).toBe('src/index.ts');
    expect(workspaceRelativePath('/work/project/README.md', roots)).toBe('README.md');
    expect(workspaceRelativePath('file:///work/project/packages/app/src/main.ts', roots)).toBe('src/main.ts');
    expect(workspaceRelativePath('file:///srv/other/a%20b/c.py', roots)).toBe('a b/c.py');
    expect(workspaceRelativePath('file:///home/me/.ssh/config.ts', roots)).toBe('config.ts');
    expect(workspaceRelativePath('file:///work/project-two/x.ts', roots)).toBe('x.ts');
    expect(workspaceRelativePath('file:///work/project', roots)).toBe('project');
    expect(workspaceRelativePath('untitled:Untitled-1', roots)).toBe('Untitled-1');
    expect(workspaceRelativePath('vscode-notebook-cell:/home/u/nb.ipynb#W1sZmlsZQ%3D%3D', roots)).toBe('nb.ipynb');
    expect(workspaceRelativePath('file:///work/project/src/x.ts', [])).toBe('x.ts');
  });
});

describe('IgnoreRules: caching', () => {
  it('sees an edited, created or deleted ignore file once recheckMs has passed, and at once after invalidate()', () => {
    const dir = tree({ '.git/': '', '.gitignore': 'a.ts\n' });
    let now = 1_000_000;
    const rules = new IgnoreRules([dir], { recheckMs: 5000, now: () => now });
    const a = join(dir, 'a.ts');
    const b = join(dir, 'src/b.ts');
    expect(rules.isIgnored(a)).toBe(true);
    expect(rules.isIgnored(b)).toBe(false);

    write(dir, '.gitignore', 'b.ts\nother-pattern\n'); // a different size, so a change even within the same mtime tick
    now += 1000;
    expect(rules.isIgnored(a)).toBe(true); // still trusted
    now += 5000;
    expect(rules.isIgnored(a)).toBe(false);
    expect(rules.isIgnored(b)).toBe(true);

    const c = join(dir, 'src/c.ts');
    expect(rules.isIgnored(c)).toBe(false);
    write(dir, 'src/.xencodeignore', 'c.ts\n'); // a new file in a folder just checked
    now += 1000;
    expect(rules.isIgnored(c)).toBe(false); // its absence is still trusted
    rules.invalidate();
    expect(rules.isIgnored(c)).toBe(true);

    unlinkSync(join(dir, '.gitignore'));
    now += 5000;
    expect(rules.isIgnored(b)).toBe(false);
    expect(rules.isIgnored(c)).toBe(true);
  });

  it('follows a change of roots', () => {
    const first = tree({ '.gitignore': 'x.ts\n' });
    const second = tree({ '.gitignore': 'y.ts\n' });
    const rules = new IgnoreRules([first]);
    expect(rules.isIgnored(join(first, 'x.ts'))).toBe(true);
    expect(rules.isIgnored(join(second, 'y.ts'))).toBe(false);
    rules.setRoots([second]);
    expect(rules.isIgnored(join(first, 'x.ts'))).toBe(false);
    expect(rules.isIgnored(join(second, 'y.ts'))).toBe(true);
  });
});

describe('ignore file parsing', () => {
  it('keeps patterns, drops comments, blank lines and unescaped trailing spaces', () => {
    expect(parseIgnoreFile('# comment\n\n*.log  \nbuild/\r\n\\#hash\nspace\\ \n!keep\n')).toEqual(['*.log', 'build/', '\\#hash', 'space\\ ', '!keep']);
  });

  it('rebases patterns of a nested file to the top level as git reads them', () => {
    expect(rebasePattern('*.log', '')).toBe('*.log');
    expect(rebasePattern('*.log', 'src')).toBe('src/**/*.log');
    expect(rebasePattern('/local.ts', 'src/app')).toBe('src/app/local.ts');
    expect(rebasePattern('fixtures/*.json', 'src')).toBe('src/fixtures/*.json');
    expect(rebasePattern('generated/', 'src')).toBe('src/**/generated/');
    expect(rebasePattern('!important.log', 'src')).toBe('!src/**/important.log');
    expect(rebasePattern('!/build/', 'pkg')).toBe('!pkg/build/');
    expect(rebasePattern('**/tmp', 'a')).toBe('a/**/tmp');
    expect(rebasePattern('x', 'we[ir]d*')).toBe('we\\[ir\\]d\\*/**/x');
    expect(rebasePattern('x', '!bang')).toBe('\\!bang/**/x');
  });
});

/** Whether git can be run here (the differential test needs it; the others do not). */
function hasGit(): boolean {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('IgnoreRules against git', () => {
  it.skipIf(!hasGit())('agrees with `git ls-files --others --ignored` on random trees of nested .gitignore files', () => {
    let seed = 20240611;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const patterns = ['*.log', '!keep.log', 'build/', '/build', '!build/', 'a/*.txt', '**/tmp', 'b', '!b/', 'c/**', '*.txt', '!*.txt', '/a/b/',
      'x*', '!x1', 'a/', '!a/', 'b/c', '!b/c/', '**/c/*.log', '/*.md', 'tmp/', '!tmp/x1', 'a/**/x1', '!a/b/*.log', '*', '!*/', '!c', 'build'];
    const folders = ['a', 'b', 'c', 'build', 'tmp'];
    const names = ['x1', 'x2.txt', 'keep.log', 'y.log', 'r.md'];
    const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
    let checked = 0;
    for (let round = 0; round < 25; round++) {
      const dir = tree({});
      execFileSync('git', ['init', '-q', dir], { env });
      const dirs = [''];
      for (let i = 0; i < 6; i++) {
        const parent = pick(dirs);
        const folder = parent === '' ? pick(folders) : `${parent}/${pick(folders)}`;
        if (parent.split('/').length <= 3 && !dirs.includes(folder)) dirs.push(folder);
      }
      const files: string[] = [];
      for (const folder of dirs) {
        for (const name of names) {
          if (random() < 0.6) {
            const path = folder === '' ? name : `${folder}/${name}`;
            write(dir, path, '');
            files.push(path);
          }
        }
        if (random() < 0.6) {
          const lines = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(patterns));
          write(dir, folder === '' ? '.gitignore' : `${folder}/.gitignore`, `${lines.join('\n')}\n`);
        }
      }
      if (random() < 0.3) write(dir, '.git/info/exclude', `${pick(patterns)}\n`);
      const out = execFileSync('git', ['-C', dir, 'ls-files', '--others', '--ignored', '--exclude-standard'], { encoding: 'utf8', env });
      const byGit = new Set(out.split('\n').filter((line) => line.length > 0));
      const rules = new IgnoreRules([dir]);
      for (const file of files) {
        expect(rules.isIgnored(join(dir, file)), `${file} in round ${round}`).toBe(byGit.has(file));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(200);
  });
});
