import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ChatMessage } from '../../models/backend.js';
import { PACKAGE_ROOT } from '../../paths.js';

/**
 * The prompt templates in prompts/ (one file per action, and hover.md), rendered into chat messages.
 * prompts/README.md documents the format and the variables.
 */

/** Bump when a template changes in a way that should invalidate cached hovers. */
export const PROMPT_VERSION = 1;

export type PromptName =
  | 'refactor' | 'fix' | 'optimize' | 'document' | 'explain' | 'tests' | 'hover'
  // `xencode dataset synth` asks the chat models for training pairs with these.
  | 'synth-refactor' | 'synth-fix' | 'synth-optimize' | 'synth-explain';

interface Template {
  readonly system: string;
  readonly user: string;
}

const loaded = new Map<PromptName, Template>();

function load(name: PromptName): Template {
  let template = loaded.get(name);
  if (template) return template;
  const text = readFileSync(join(PACKAGE_ROOT, 'prompts', `${name}.md`), 'utf8');
  const system = /<!--\s*system\s*-->\n([\s\S]*?)<!--\s*user\s*-->/.exec(text);
  const user = /<!--\s*user\s*-->\n([\s\S]*)$/.exec(text);
  if (!system || !user) throw new Error(`prompts/${name}.md needs a <!-- system --> and a <!-- user --> part`);
  template = { system: system[1]!.trim(), user: user[1]!.trim() };
  loaded.set(name, template);
  return template;
}

/** `{{name}}` → value; unknown names become ''. Values are inserted once (a value holding `{{x}}` stays as is). */
function render(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => values[key] ?? '');
}

export function promptMessages(name: PromptName, values: Readonly<Record<string, string>>): ChatMessage[] {
  const template = load(name);
  return [
    { role: 'system', content: render(template.system, values) },
    // Blank lines left by empty variables are squeezed, so an absent context does not leave a gap.
    { role: 'user', content: render(template.user, values).replace(/\n{3,}/g, '\n\n') },
  ];
}

const DISPLAY_NAMES: Record<string, [name: string, fence: string]> = {
  typescript: ['TypeScript', 'ts'],
  typescriptreact: ['TypeScript (TSX)', 'tsx'],
  javascript: ['JavaScript', 'js'],
  javascriptreact: ['JavaScript (JSX)', 'jsx'],
  python: ['Python', 'python'],
  rust: ['Rust', 'rust'],
  go: ['Go', 'go'],
  java: ['Java', 'java'],
  c: ['C', 'c'],
  cpp: ['C++', 'cpp'],
  csharp: ['C#', 'csharp'],
  ruby: ['Ruby', 'ruby'],
  php: ['PHP', 'php'],
  lua: ['Lua', 'lua'],
  shellscript: ['shell', 'sh'],
  sh: ['shell', 'sh'],
  bash: ['Bash', 'bash'],
  kotlin: ['Kotlin', 'kotlin'],
  swift: ['Swift', 'swift'],
  zig: ['Zig', 'zig'],
  haskell: ['Haskell', 'haskell'],
  elixir: ['Elixir', 'elixir'],
  scala: ['Scala', 'scala'],
};

/** The language's name for prompts and its tag for code fences. */
export function languageNames(languageId: string): { name: string; fence: string } {
  const known = DISPLAY_NAMES[languageId];
  if (known) return { name: known[0], fence: known[1] };
  return { name: languageId || 'code', fence: /^[\w+-]+$/.test(languageId) ? languageId : '' };
}

export function fileName(uri: string): string {
  try {
    return basename(decodeURIComponent(new URL(uri).pathname)) || uri;
  } catch {
    return basename(uri) || uri;
  }
}

/**
 * The `context` variable: imports and enclosing headers, and the code around the target, as one fenced block
 * with the target's place marked. Empty when there is nothing around the target.
 */
export function contextBlock(parts: { header: string; before: string; after: string; fence: string }): string {
  const { header, before, after, fence } = parts;
  if (!header.trim() && !before.trim() && !after.trim()) return '';
  const body = [header.trimEnd(), before.trimEnd(), '<<< the code below goes here >>>', after.trim()]
    .filter((p) => p !== '')
    .join('\n');
  return `The surrounding code, for reference only (do not repeat it):\n\`\`\`${fence}\n${body}\n\`\`\`\n`;
}
