import { PLACEHOLDER_START, redactedPlaceholder, replaceMatches, type Redacted } from './redact-scan.js';

/**
 * Secrets in assignments: values under secret-like names (password, token, api key …) in code, config and .env
 * shapes, judged by how the name reads and whether the value reads as words (see `redact.ts` for the rules).
 */

// ---------------------------------------------------------------------------------------------------------------
// 5. Values assigned to secret-like names

/**
 * `name <op> value` in the shapes of the languages people keep secrets in:
 * - name: an identifier or dotted/dashed key (`password`, `db.password`, `x-api-key`, `this.token`), bare or quoted
 *   (`"apiKey"`, `['API_KEY']`), optionally after `--`; its start is pinned to the start of a word;
 * - an optional type annotation (`password: str =`, `apiKey: string =`);
 * - op: `=`, `:`, `:=` (Go), `=>` (PHP and Ruby hashes), `?=` (make); never `==`, `===` or `=~`;
 * - value: a string literal ("…", '…', `…` without interpolation, with Python's r/b/u prefixes), or a bare value
 *   up to a space or a code delimiter (kept only in line-shaped files: see `bareValueIsLine`).
 */
const ASSIGNMENT = new RegExp(
  String.raw`(?<![\w$.])(?<![\w$.]-)` +
    String.raw`(?<head>(?<q>["'` + '`' + String.raw`]?)(?<name>[A-Za-z_$][\w$.-]{0,100})\k<q>\]?` +
    String.raw`(?:[ \t]{0,4}:[ \t]{0,4}[A-Za-z_$][\w$.]{0,40}(?:\[[^\]\n]{0,40}\])?(?=[ \t]{0,4}=[^=>]))?` +
    String.raw`[ \t]{0,20}(?::=|=>|\?=|:|=)(?![=>~])[ \t]{0,20})` +
    String.raw`(?:(?<prefix>[rRbBuU]{0,2})(?<open>["'])(?<quoted>(?:[^"'\\\r\n]|\\.|(?!\k<open>)["']){0,1024})\k<open>` +
    String.raw`|` + '`' + String.raw`(?<backtick>[^` + '`' + String.raw`\\$\r\n]{0,1024})` + '`' +
    String.raw`|(?<bare>[^\s"'` + '`' + String.raw`,;(){}\[\]<>]{1,1024}))`,
  'g',
);

/** Words after which the value is a password-like secret: any non-word value counts (`hunter2`). */
const PASSWORD_WORDS: ReadonlyMap<string, string> = new Map([
  ['password', 'password'],
  ['passwd', 'password'],
  ['pwd', 'password'],
  ['pass', 'password'],
  ['passphrase', 'password'],
  ['secret', 'secret'],
  ['secrets', 'secret'],
  ['credential', 'credential'],
  ['credentials', 'credential'],
  ['creds', 'credential'],
]);

/** Words after which the value is a token-like secret: a word and a number (`utf8`, `mt19937`) doesn't count. */
const TOKEN_WORDS: ReadonlyMap<string, string> = new Map([
  ['token', 'token'],
  ['auth', 'auth'],
  ['authorization', 'authorization'],
  ['bearer', 'bearer-token'],
  ['apikey', 'api-key'],
  ['accesskey', 'access-key'],
  ['privatekey', 'private-key'],
  ['secretkey', 'secret'],
  ['clientsecret', 'secret'],
]);

/** Last words that match as a suffix of a compound word too (`dbpassword`, `authtoken`, `APIKEY`). */
const SUFFIX_WORDS = ['password', 'passwd', 'secret', 'token', 'apikey', 'accesskey', 'privatekey', 'secretkey'];

/** How a secret-like name is judged: the placeholder kind, and how strict the value test is. */
export type NameClass = { readonly kind: string; readonly strength: 'password' | 'token' | 'key' };

/** A name's words, lower-cased: split at non-alphanumerics and camelCase humps, trailing digits dropped. */
function nameWords(name: string): string[] {
  return name
    .split(/[^A-Za-z0-9]+/)
    .flatMap((part) => part.split(/(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/))
    .map((word) => word.toLowerCase().replace(/\d+$/, ''))
    .filter((word) => word.length > 0);
}

/**
 * Whether `name` is secret-like, and how: the name's last word (or last two: `api_key`, `client_secret`) is one of
 * password, passwd, pwd, pass, passphrase, secret, credential(s), creds (password strength); token, auth,
 * authorization, bearer, api key, access key, private key, secret key, client secret (token strength); or any other
 * `…key` but a public one (`encryption_key`, `SESSION_KEY`: key strength, judged by entropy alone). Whole words,
 * so `tokenizer`, `tokens`, `author`, `passwordField`, `bypass` and `oauth` are not secret-like.
 */
export function assignedSecretKind(name: string): NameClass | undefined {
  const words = nameWords(name);
  const last = words.at(-1);
  if (last === undefined) return undefined;
  const lastTwo = words.length >= 2 ? `${words.at(-2)}${last}` : last;
  for (const candidate of [lastTwo, last]) {
    const password = PASSWORD_WORDS.get(candidate);
    if (password !== undefined) return { kind: password, strength: 'password' };
    const token = TOKEN_WORDS.get(candidate);
    if (token !== undefined) return { kind: token, strength: 'token' };
  }
  const suffix = SUFFIX_WORDS.find((word) => last.endsWith(word));
  if (suffix !== undefined) {
    const password = PASSWORD_WORDS.get(suffix);
    return password !== undefined ? { kind: password, strength: 'password' } : { kind: TOKEN_WORDS.get(suffix) ?? 'token', strength: 'token' };
  }
  if (last === 'key' && words.length >= 2 && words.at(-2) !== 'public') return { kind: 'key', strength: 'key' };
  return undefined;
}

/**
 * One alphanumeric run that reads as a word or an identifier: letters only (any case mix: `Password`,
 * `InterpolationInJSX`, `パスワード`), or ≤ 4 digits. Letters and digits mixed, or a longer number, do not. (Letters
 * alone cannot tell a camelCase name from a random mixed-case string; generated secrets of 16 characters and more
 * hold a digit nearly always, and their prefixes or the .env rule catch the rest.)
 */
const WORD_SEGMENT = /^(?:[\p{L}\p{M}]+|\p{Nd}{1,4})$/u;
/**
 * A word and a number, one after the other (`utf8`, `sha256`, `mt19937`, `2fa`): a name for token-like names, a
 * password (`hunter2`) for password-like ones. Generated tokens switch between letters and digits more often.
 */
const WORD_WITH_NUMBER = /^(?:[\p{L}\p{M}]+\p{Nd}+|\p{Nd}+[\p{L}\p{M}]+)$/u;

/**
 * Whether a value reads as words rather than as a generated or chosen secret: every alphanumeric run of it is a
 * word (see WORD_SEGMENT). `"Password"`, `"keyword.operator"`, `"required|min:8"`, `"YOUR_API_KEY"` are wordish;
 * `"hunter2"`, `"P@ssw0rd"`, `"wJalrXUtnFEMI/K7MDENG"` are not. `strict`: a word and a number (`utf8`) are words too.
 */
export function isWordish(value: string, strict: boolean): boolean {
  return value
    .split(/[^\p{L}\p{M}\p{N}]+/u)
    .filter((segment) => segment.length > 0)
    .every((segment) => WORD_SEGMENT.test(segment) || (strict && WORD_WITH_NUMBER.test(segment)));
}

/** Shannon entropy of the value's characters, in bits per character. */
export function shannonEntropy(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const length = [...value].length;
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * The entropy rule (for `…key` names, whose values are as often ids, paths and labels as secrets): a value of at
 * least 20 characters, not wordish, with at least 3.0 bits per character if it is hex and 3.5 otherwise. Random
 * strings of 20 characters average about 3.4 bits (hex) and 4.0 (base62); repeated or sequential strings
 * (`abcabcabc…`, `aaaa1111…`) fall below.
 */
export const ENTROPY_MIN_LENGTH = 20;
export const ENTROPY_BITS_HEX = 3.0;
export const ENTROPY_BITS = 3.5;

function isHighEntropy(value: string): boolean {
  if (value.length < ENTROPY_MIN_LENGTH || isWordish(value, true)) return false;
  return shannonEntropy(value) >= (/^[0-9a-fA-F]+$/.test(value) ? ENTROPY_BITS_HEX : ENTROPY_BITS);
}

/** Bare values that are language words, not secrets: types (`password: string`), literals (`token: null`). */
const BARE_KEYWORDS = new Set(
  'true false null nil none undefined string number boolean bool str int float bytes any unknown object required optional yes no on off'.split(' '),
);

/**
 * Whether a value assigned to a secret-like name is a secret. Never: references and templates (`$VAR`, `${x}`,
 * `{{x}}`, `%s`, `<your-key>`, a placeholder of ours), colours (Pygments' `Token: '#d0d0d0'`), paths and URLs (`PWD=/home/me`; a URL's password has its own
 * rule). On an .env line (`envLine`), anything else but a keyword (`AUTH=none`) or joined-up words (`your_api_key`):
 * an .env file holds values, not code, and `DB_PASSWORD=sunshine` is a password. Elsewhere never short (< 4) or prose (has a space), and then by the
 * name's strength: password-like names take any value that is not wordish, token-like ones any value not wordish
 * in the strict sense (both also base64 credentials, which can be all letters), `…key` names high-entropy values
 * only.
 */
function valueLooksSecret(value: string, name: NameClass, envLine: boolean): boolean {
  if (/^[$%<]|\$\{|\{\{|^\{.*\}$|^#[0-9A-Fa-f]{3,8}$/.test(value)) return false;
  if (/^(?:\/|~\/|\.\.?\/)|^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) return false;
  if (envLine) {
    // A lone word is a password (`sunshine`); words joined up (`your_api_key`, `CHANGE-ME`) are a placeholder.
    if (value.length === 0 || BARE_KEYWORDS.has(value.toLowerCase())) return false;
    return !isWordish(value, false) || /^[\p{L}\p{M}\p{N}]+$/u.test(value);
  }
  if (value.length < 4 || /\s/.test(value)) return false;
  switch (name.strength) {
    case 'password':
      return !isWordish(value, false) || isHighEntropy(value) || isBase64Credentials(value);
    case 'token':
      return !isWordish(value, true) || isHighEntropy(value) || isBase64Credentials(value);
    case 'key':
      return isHighEntropy(value);
  }
}

/**
 * A bare (unquoted) value is kept as a value only where lines are assignments: it runs to the end of its line (or to
 * a ` #` comment) — or, for a shell word (`--password=…`, `MYSQL_PASSWORD=…` in a command line), to a space — and it
 * is no keyword, number under 6 digits or member path (`token = this.token`, `pwd: str`). In code, a bare value is
 * nearly always an expression.
 */
function bareValueIsLine(text: string, end: number, value: string, shellWord: boolean): boolean {
  let i = end;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  const lineEnds = i >= text.length || text[i] === '\n' || text[i] === '\r' || (text[i] === '#' && i > end);
  if (!lineEnds && !(shellWord && i > end)) return false;
  if (BARE_KEYWORDS.has(value.toLowerCase()) || /^\d{1,5}$/.test(value)) return false;
  return !/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/.test(value);
}

/**
 * `NAME=value` at a line's start (after `export`/`ENV`/`set`), the name UPPER_SNAKE, no spaces around `=`: an .env or
 * shell line. Looks back at most 40 characters (a rule that scanned back to each line's start would be quadratic
 * on a long line of assignments).
 */
function isEnvLine(text: string, start: number, head: string, name: string): boolean {
  if (head !== `${name}=` || !/^[A-Z][A-Z0-9_]*$/.test(name)) return false;
  const from = Math.max(0, start - 40);
  const before = text.slice(from, start);
  return (from === 0 ? /(?:^|\n)[ \t]*(?:(?:export|ENV|set)[ \t]+)?$/ : /\n[ \t]*(?:(?:export|ENV|set)[ \t]+)?$/).test(before);
}

/** A 40-character AWS secret access key under a name that says so. */
function isAwsSecretKey(name: string, value: string): boolean {
  const words = nameWords(name);
  return /^[A-Za-z0-9/+]{40}$/.test(value) && words.includes('secret') && (words.includes('aws') || words.includes('access'));
}

export function redactAssignments(text: string): Redacted {
  return replaceMatches(text, ASSIGNMENT, (m, whole) => {
    const groups = m.groups!;
    const name = groups['name']!;
    const nameClass = assignedSecretKind(name);
    if (nameClass === undefined) return null;
    const head = groups['head']!;
    const quoted = groups['quoted'] ?? groups['backtick'];
    const value = quoted ?? groups['bare']!;
    if (value.startsWith(PLACEHOLDER_START)) return null;
    if (quoted === undefined) {
      // `NAME=value` without spaces: a shell word when the name is an environment variable's or follows `--`.
      const shellWord = head === `${name}=` && (/^[A-Z][A-Z0-9_]*$/.test(name) || (m.index >= 2 && whole.startsWith('--', m.index - 2)));
      if (!bareValueIsLine(whole, m.index + m[0].length, value, shellWord)) return null;
    }
    if (!valueLooksSecret(value, nameClass, isEnvLine(whole, m.index, head, name))) return null;
    const kind = isAwsSecretKey(name, value) ? 'aws-secret-key' : nameClass.kind;
    const placeholder = redactedPlaceholder(kind);
    if (groups['quoted'] !== undefined) return `${head}${groups['prefix']}${groups['open']}${placeholder}${groups['open']}`;
    if (groups['backtick'] !== undefined) return `${head}\`${placeholder}\``;
    return `${head}${placeholder}`;
  });
}

/** Base64 of `user:password` (Basic credentials, `.npmrc`'s `_auth`): printable text with a colon. */
export function isBase64Credentials(value: string): boolean {
  if (value.length < 8 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const decoded = Buffer.from(value, 'base64').toString('latin1');
  return /^[\x20-\x7e]+$/.test(decoded) && /^[^:]+:[^:]/.test(decoded);
}
