/**
 * Secret redaction for feedback records. Every text that goes into a record (prompt parts, candidates, the exact
 * prompts, the chosen and captured text) passes through `redactSecrets` before it is stored or exported, because
 * a record is kept for weeks and exported for training, and code people type completions in is full of keys.
 *
 * Each secret is replaced by `<redacted:KIND>` (e.g. `<redacted:aws-access-key>`), keeping the quotes, the name
 * and the operator around it, so the text still reads as the code it was and a model trained on it learns the
 * shape, not the secret.
 *
 * What counts as a secret, in the order the rules run (a later rule never sees an earlier rule's placeholder as
 * a secret, so redacting redacted text changes nothing):
 * 1. PEM private key blocks (`-----BEGIN … PRIVATE KEY-----` to the matching END line, also inside string literals
 *    with `\n` escapes; a block cut off by the edge of a prompt window — BEGIN without END, or END without BEGIN — is
 *    redacted up to the edge).
 * 2. Tokens with a recognisable prefix: AWS access key ids, GCP API keys, GitHub, GitLab, Slack, Stripe, npm,
 *    Anthropic- and OpenAI-style keys, JWTs, Slack webhook paths.
 * 3. The password of a URL's user info (`scheme://user:password@host`: user and host stay).
 * 4. `Bearer` tokens and `Basic` credentials (Authorization headers).
 * 5. Values assigned to secret-like names (`password = "…"`, `"apiKey": "…"`, `SECRET_KEY=…`, `token: '…'`,
 *    `auth_token := "…"`), in the shapes of JS/TS, Python, Go, YAML, .env, .properties and shell. See
 *    `assignedSecretKind` and `valueLooksSecret` for what a secret-like name and a secret-looking value are; other
 *    `…key` names (`encryption_key`) take high-entropy values only (`ENTROPY_*`).
 *
 * Zero false positives on ordinary code matters as much as recall: a redacted record teaches the model
 * placeholders where code should be. So values that read as words (labels, enum strings, lexer token names,
 * validation rules) are left alone; see `isWordish`.
 *
 * Cost: every pattern is linear in the text (bounded quantifiers and start positions pinned by lookbehinds, so a
 * failed attempt never rescans a run it started inside), and each rule runs only when one of its literal hints
 * occurs in the lower-cased text, so text with no candidate costs one `toLowerCase` and a few `includes`.
 */

/** The result of redacting a text: the text with placeholders, and how many secrets were replaced. */
export interface Redacted {
  readonly text: string;
  readonly redactions: number;
}

const PLACEHOLDER_START = '<redacted:';

/** The placeholder a secret of this kind is replaced with. */
export function redactedPlaceholder(kind: string): string {
  return `${PLACEHOLDER_START}${kind}>`;
}

/** Replaces every secret in `text` by `<redacted:KIND>`; returns the text unchanged (same string) when none. */
export function redactSecrets(text: string): Redacted {
  if (text.length === 0) return { text, redactions: 0 };
  const lower = text.toLowerCase();
  let redactions = 0;
  let out = text;
  for (const rule of RULES) {
    if (!rule.hints.some((hint) => lower.includes(hint))) continue;
    const result = rule.apply(out);
    out = result.text;
    redactions += result.redactions;
  }
  return { text: redactions === 0 ? text : out, redactions };
}

interface Rule {
  /** Lower-case literals of which at least one occurs in any text the rule could change (the cheap pre-check). */
  readonly hints: readonly string[];
  readonly apply: (text: string) => Redacted;
}

/**
 * Replaces the matches of a global `pattern` for which `replace` returns a string; a null keeps the match.
 * The scan goes on after the match either way (no rescan of what a match covered: keeps the rule linear).
 */
function replaceMatches(text: string, pattern: RegExp, replace: (m: RegExpExecArray, text: string) => string | null): Redacted {
  pattern.lastIndex = 0;
  let out = '';
  let last = 0;
  let redactions = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    if (m[0].length === 0) {
      pattern.lastIndex++;
      continue;
    }
    const replacement = replace(m, text);
    if (replacement === null) continue;
    out += text.slice(last, m.index) + replacement;
    last = m.index + m[0].length;
    redactions++;
  }
  return redactions === 0 ? { text, redactions } : { text: out + text.slice(last), redactions };
}

/** A rule that replaces whole matches of `pattern` (optionally only those `accept` takes) by one placeholder. */
function tokenRule(kind: string, hints: readonly string[], pattern: RegExp, accept?: (match: string) => boolean): Rule {
  const placeholder = redactedPlaceholder(kind);
  return {
    hints,
    apply: (text) => replaceMatches(text, pattern, (m) => (accept === undefined || accept(m[0]) ? placeholder : null)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 1. PEM private keys

/** BEGIN and END lines of private key blocks (RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP … BLOCK, plain PKCS#8). */
const PEM_MARKER = /-----(BEGIN|END) ([A-Z0-9]{1,20} ){0,3}PRIVATE KEY( BLOCK)?-----/g;

/**
 * Characters of a key body and its headers as a cut-off block leaves them: base64, whitespace, the `\n` escapes
 * of a key inside a string literal and the quotes and `+` of one split over concatenated literals, PEM and armour
 * headers (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: …`, `Version: GnuPG v2`) and what a partial END line holds. No
 * semicolon, bracket or parenthesis: the code around a key stops a scan.
 */
function isKeyBodyChar(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2b || code === 0x2f || code === 0x3d || // + / =
    code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d || // whitespace
    code === 0x5c || code === 0x3a || code === 0x2c || code === 0x2d || // \ : , -
    code === 0x2e || code === 0x5f || code === 0x40 || // . _ @
    code === 0x22 || code === 0x27 || code === 0x60 // " ' `
  );
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/**
 * Key material: a run of this many base64 characters (key lines hold 64). A cut-off block is redacted only when its
 * part holds one: a BEGIN or END line next to code (`const PEM_END = '-----END RSA PRIVATE KEY-----'`) is a constant.
 */
const KEY_MATERIAL_RUN = 16;

function hasKeyMaterial(text: string, start: number, end: number): boolean {
  let run = 0;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    const base64 = (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39) || code === 0x2b || code === 0x2f;
    run = base64 ? run + 1 : 0;
    if (run >= KEY_MATERIAL_RUN) return true;
  }
  return false;
}

/**
 * Pairs BEGIN and END lines in one pass. A BEGIN followed by its END with only key body between: the block, markers
 * included, becomes one placeholder. A BEGIN whose END is missing (a prefix cut inside the key): from BEGIN over the
 * key body to where it stops (the text's end, for a cut prefix). An END whose BEGIN is missing (a suffix that starts
 * inside the key): back over the key body to where it starts. A marker with no key material next to it (a parser's
 * `const BEGIN = '-----BEGIN RSA PRIVATE KEY-----'`) is left alone. Each scan stops at the neighbouring marker, so
 * every character is scanned at most twice.
 */
function redactPrivateKeys(text: string): Redacted {
  const markers: { begin: boolean; start: number; end: number }[] = [];
  PEM_MARKER.lastIndex = 0;
  for (let m = PEM_MARKER.exec(text); m !== null; m = PEM_MARKER.exec(text)) {
    markers.push({ begin: m[1] === 'BEGIN', start: m.index, end: m.index + m[0].length });
  }
  if (markers.length === 0) return { text, redactions: 0 };
  const spans: [number, number][] = [];
  let covered = 0; // nothing before this is scanned again
  for (let i = 0; i < markers.length; i++) {
    const marker = markers[i]!;
    const next = markers[i + 1];
    if (marker.begin) {
      const limit = next?.start ?? text.length;
      let end = marker.end;
      while (end < limit && isKeyBodyChar(text.charCodeAt(end))) end++;
      if (next !== undefined && !next.begin && end === limit && hasKeyMaterial(text, marker.end, end)) {
        spans.push([marker.start, next.end]);
        covered = next.end;
        i++;
        continue;
      }
      while (end > marker.end && isSpace(text.charCodeAt(end - 1))) end--;
      if (hasKeyMaterial(text, marker.end, end)) {
        spans.push([marker.start, end]);
        covered = end;
      } else {
        covered = marker.end;
      }
    } else {
      let start = marker.start;
      while (start > covered && isKeyBodyChar(text.charCodeAt(start - 1))) start--;
      while (start < marker.start && isSpace(text.charCodeAt(start))) start++;
      if (hasKeyMaterial(text, start, marker.start)) spans.push([start, marker.end]);
      covered = marker.end;
    }
  }
  if (spans.length === 0) return { text, redactions: 0 };
  const placeholder = redactedPlaceholder('private-key');
  let out = '';
  let last = 0;
  for (const [start, end] of spans) {
    out += text.slice(last, start) + placeholder;
    last = end;
  }
  return { text: out + text.slice(last), redactions: spans.length };
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Tokens with a known prefix. Each pattern's lookbehind pins its start to the start of a run of token
// characters, and its quantifiers are bounded, so the whole scan is linear.

/** True when a token mixes letters and digits: generated secrets do, placeholders (`your-token-here`) don't. */
function hasLetterAndDigit(s: string): boolean {
  return /[A-Za-z]/.test(s) && /[0-9]/.test(s);
}

const TOKEN_RULES: readonly Rule[] = [
  tokenRule('aws-access-key', ['akia', 'asia'], /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/g),
  tokenRule('gcp-api-key', ['aiza'], /(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])/g),
  tokenRule(
    'github-token',
    ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'],
    /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,251})(?![A-Za-z0-9_])/g,
  ),
  tokenRule('gitlab-token', ['glpat-'], /(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,64}(?![A-Za-z0-9_-])/g),
  tokenRule('slack-token', ['xox'], /(?<![A-Za-z0-9_-])xox[abeoprs]-[A-Za-z0-9-]{10,250}(?![A-Za-z0-9_-])/g, (match) =>
    !isWordish(match.slice(5), false),
  ),
  tokenRule(
    'slack-webhook',
    ['hooks.slack.com'],
    /(?<=hooks\.slack\.com\/services\/)T[A-Za-z0-9]{6,20}\/B[A-Za-z0-9]{6,20}\/[A-Za-z0-9]{16,64}(?![A-Za-z0-9])/g,
  ),
  tokenRule(
    'stripe-key',
    ['k_live_', 'k_test_', 'whsec_'],
    /(?<![A-Za-z0-9_])(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}|whsec_[A-Za-z0-9]{24,64})(?![A-Za-z0-9_])/g,
    (match) => !isWordish(match.slice(match.lastIndexOf('_') + 1), false),
  ),
  tokenRule('anthropic-key', ['sk-ant-'], /(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,250}(?![A-Za-z0-9_-])/g, hasLetterAndDigit),
  tokenRule(
    'openai-key',
    ['sk-'],
    /(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,250}(?![A-Za-z0-9_-])/g,
    // Not kebab-case names (`sk-spinner-bounce-delay-2`): a key has a long random run.
    (match) => hasLetterAndDigit(match) && match.slice(3).split(/[-_]/).some((part) => part.length >= 16 && hasLetterAndDigit(part)),
  ),
  tokenRule('npm-token', ['npm_'], /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])/g),
  tokenRule(
    'jwt',
    ['eyj'],
    /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,8192}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{0,8192}(?![A-Za-z0-9_-])/g,
  ),
];

// ---------------------------------------------------------------------------------------------------------------
// 3. Passwords in URLs: scheme://user:password@host. The character sets are those of RFC 3986 user info without
// quotes, parentheses and braces, so a URL built in code (`${user}:${password}@`, `'://' + u + ':' + p + '@'`)
// never matches.

const URL_PASSWORD =
  /(?<![A-Za-z0-9+.-])(?<head>[A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/[A-Za-z0-9._~%!$&*+,;=-]{0,256}:)(?<password>[A-Za-z0-9._~%!$&*+,;=:-]{1,256})@(?=[A-Za-z0-9[_-])/g;

function redactUrlPasswords(text: string): Redacted {
  const placeholder = redactedPlaceholder('password');
  return replaceMatches(text, URL_PASSWORD, (m) => {
    const password = m.groups!['password']!;
    // A format or environment reference (`%s`, `$PASSWORD`), a masked one (`****`) or the word itself
    // (`user:password@host` in docs) is no secret.
    if (/^[%$]/.test(password) || !/[A-Za-z0-9]/.test(password) || /^(?:password|passwd|pass|pwd)$/i.test(password)) return null;
    return `${m.groups!['head']}${placeholder}@`;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Authorization headers

const BEARER = /(?<![A-Za-z0-9_-])(?<scheme>Bearer|bearer|BEARER)(?<space>[ \t]+)(?<token>[A-Za-z0-9._~+/-]{16,4096}=*)(?![A-Za-z0-9._~+/=-])/g;
const BASIC = /(?<![A-Za-z0-9_-])(?<scheme>Basic|BASIC)(?<space>[ \t]+)(?<token>[A-Za-z0-9+/]{8,4096}={0,2})(?![A-Za-z0-9+/=])/g;

/** Base64 of `user:password` (Basic credentials, `.npmrc`'s `_auth`): printable text with a colon. */
function isBase64Credentials(value: string): boolean {
  if (value.length < 8 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const decoded = Buffer.from(value, 'base64').toString('latin1');
  return /^[\x20-\x7e]+$/.test(decoded) && /^[^:]+:[^:]/.test(decoded);
}

function redactAuthorization(text: string): Redacted {
  const bearer = replaceMatches(text, BEARER, (m) =>
    hasLetterAndDigit(m.groups!['token']!) ? `${m.groups!['scheme']}${m.groups!['space']}${redactedPlaceholder('bearer-token')}` : null,
  );
  const basic = replaceMatches(bearer.text, BASIC, (m) => {
    // Basic credentials are base64 of `user:password`: prose after the word "Basic" does not decode to that.
    if (!isBase64Credentials(m.groups!['token']!)) return null;
    return `${m.groups!['scheme']}${m.groups!['space']}${redactedPlaceholder('basic-auth')}`;
  });
  return { text: basic.text, redactions: bearer.redactions + basic.redactions };
}

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

function redactAssignments(text: string): Redacted {
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

// ---------------------------------------------------------------------------------------------------------------

const ASSIGNMENT_HINTS = ['pass', 'pwd', 'secret', 'token', 'key', 'auth', 'cred', 'bearer'];

const RULES: readonly Rule[] = [
  { hints: ['private key'], apply: redactPrivateKeys },
  ...TOKEN_RULES,
  { hints: ['://'], apply: redactUrlPasswords },
  { hints: ['bearer', 'basic'], apply: redactAuthorization },
  { hints: ASSIGNMENT_HINTS, apply: redactAssignments },
];
