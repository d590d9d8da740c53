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
import { redactedPlaceholder, replaceMatches, type Redacted, type Rule } from './redact-scan.js';
import { isBase64Credentials, isWordish, redactAssignments } from './secret-assignments.js';

export { redactedPlaceholder, type Redacted } from './redact-scan.js';
export { assignedSecretKind, isWordish, shannonEntropy, ENTROPY_MIN_LENGTH, ENTROPY_BITS_HEX, ENTROPY_BITS, type NameClass } from './secret-assignments.js';


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

const ASSIGNMENT_HINTS = ['pass', 'pwd', 'secret', 'token', 'key', 'auth', 'cred', 'bearer'];

const RULES: readonly Rule[] = [
  { hints: ['private key'], apply: redactPrivateKeys },
  ...TOKEN_RULES,
  { hints: ['://'], apply: redactUrlPasswords },
  { hints: ['bearer', 'basic'], apply: redactAuthorization },
  { hints: ASSIGNMENT_HINTS, apply: redactAssignments },
];
