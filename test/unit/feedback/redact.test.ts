import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assignedSecretKind, isWordish, redactSecrets, shannonEntropy } from '../../../server/feedback/redact.js';
import { PACKAGE_ROOT } from '../../../server/paths.js';

// Made-up secrets in the real formats. The prefixes are joined at run time so that secret scanners reading this
// file do not take them for leaked credentials.
const AWS_ID = 'AKIA' + 'Q3EGV7WZK2NHX5RT';
const AWS_TEMP_ID = 'ASIA' + 'Y4MPL2QZ8D3KVW6B';
const AWS_SECRET = 'kR8vLq2Zx' + '9Tn4Wb7Yc1Pd5Hf3Jg6Ms0Ue/Ai+Ko8';
const GCP_KEY = 'AIza' + 'SyC7kD2mQ9xW4vB8nL1pR6tZ3yH5jF0gE_a';
const GITHUB_TOKENS = ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'].map((p) => p + 'k3L9mQ2xZ7wR4tY8uI1oP5aS6dF0gH3jK9lZ');
const GITHUB_PAT = 'github_pat_' + '11ABZ3K7Q0cR8vX2mN4pLq_7fT2sW9yE4hJ6kB1nM3vC8xZ5aQ0rG7uI2oP4lK9jH6gF3dS1aZ8xC5vB2nM';
const GITLAB = 'glpat-' + 'Xy7zQ2wE9rT4uI1oP3aS';
const SLACK = 'xoxb-' + '2837461920374-4938271650493-Qz8Kx3Lm9Vt2Rw7Yp4Nb1Hc6';
const STRIPE_LIVE = 'sk_live_' + '51Nq8XyKz3LmR7vT2wB9cD4eF6gH1jK0';
const STRIPE_RESTRICTED = 'rk_live_' + '51Nq8XyKz3LmR7vT2wB9cD4eF6gH1jK0';
const ANTHROPIC = 'sk-ant-' + 'api03-Zq8Xk3Lm9Vt2Rw7Yp4Nb1Hc6Jd0Fg5Ks8Qa2We4Rt6Yu9Io1Pl3Mn7Bv5Cx8Za0Sd2Fg4Hj6Kl9Qw-AA';
const OPENAI = 'sk-' + 'proj-Jd0Fg5Ks8Qa2We4Rt6Yu9Io1Pl3Mn7Bv5Cx8Za0Sd2Fg4Hj6Kl9';
const OPENAI_LEGACY = 'sk-' + 'Tq3Wz8Xk1Lm6Vr9Yp2Nb5Hc0Jd4Fg7Ks3Qa8We1Rt6Yu0Io';
const NPM = 'npm_' + 'Zq8Xk3Lm9Vt2Rw7Yp4Nb1Hc6Jd0Fg5Ks8Qa2';
const JWT =
  'eyJ' + 'hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.' + 'eyJ' + 'zdWIiOiI4NDIxIiwibmFtZSI6IlJpdGEgVm9zcyIsImlhdCI6MTcxNjIzOTAyMn0.' +
  'k3V9yq7Lm2Xz8Rt4Wb1Nc6Pd0Hf5Jg3Ms9Ue7Ai2Ko';
const PEM_BODY = [
  'MIIEowIBAAKCAQEAt3Xq9vLm2ZrQ8wYb4Nc7Pd1Hf5Jg0Ms6Ue3Ai9Ko2Rt8Wb4Nc7Pd1Hf5Jg0Ms6Ue3A',
  'i9Ko2Rt8Wb4Nc7Pd1Hf5Jg0Ms6Ue3Ai9Ko2Rt8Wb4Nc7Pd1Hf5Jg0Ms6Ue3Ai9Ko2Rt8Wb4Nc7Pd1Hf5Jg',
  '0Ms6Ue3Ai9Ko2Rt8Wb4Nc7Pd1Hf5Jg0Ms6Ue3Ai9Ko2Rt8Wb4Nc7Pd1Hf5Jg0Ms6Ue3Ai9Ko2Rt8Wb4N',
  'c7Pd1Hf5Jg0Ms6Ue3Ai9Ko2Rt8Wb4Nc7Pd1Hf5Jg0Ms6Ue3Ai9Ko2Rt8Wb4Nc7Pd1Hf5Jg0Ms6UeAQAB',
];

function pem(type: string, body = PEM_BODY): string {
  return `-----BEGIN ${type}PRIVATE KEY-----\n${body.join('\n')}\n-----END ${type}PRIVATE KEY-----`;
}

/** Expects `input` to redact to exactly `expected`, and redacting that again to change nothing. */
function expectRedacted(input: string, expected: string, count = 1): void {
  const result = redactSecrets(input);
  expect(result.text).toBe(expected);
  expect(result.redactions).toBe(count);
  const again = redactSecrets(result.text);
  expect(again).toEqual({ text: result.text, redactions: 0 });
}

function expectUnchanged(input: string): void {
  const result = redactSecrets(input);
  expect(result.text).toBe(input);
  expect(result.redactions).toBe(0);
}

describe('redactSecrets: tokens with a known prefix', () => {
  it('redacts AWS access key ids and secret keys, keeping quotes and the assignment', () => {
    expectRedacted(`const accessKeyId = "${AWS_ID}";`, 'const accessKeyId = "<redacted:aws-access-key>";');
    expectRedacted(`aws_access_key_id=${AWS_TEMP_ID}`, 'aws_access_key_id=<redacted:aws-access-key>');
    expectRedacted(`aws_secret_access_key = ${AWS_SECRET}`, 'aws_secret_access_key = <redacted:aws-secret-key>');
    expectRedacted(`AWS_SECRET_ACCESS_KEY="${AWS_SECRET}"`, 'AWS_SECRET_ACCESS_KEY="<redacted:aws-secret-key>"');
    expectRedacted(`const credentials = { accessKeyId: '${AWS_ID}', secretAccessKey: '${AWS_SECRET}' };`,
      "const credentials = { accessKeyId: '<redacted:aws-access-key>', secretAccessKey: '<redacted:aws-secret-key>' };", 2);
  });

  it('redacts GCP, GitHub, GitLab, Slack, Stripe, npm, Anthropic and OpenAI keys', () => {
    expectRedacted(`const firebase = { apiKey: "${GCP_KEY}" };`, 'const firebase = { apiKey: "<redacted:gcp-api-key>" };');
    for (const token of GITHUB_TOKENS) expectRedacted(`git clone https://${token}@github.com/o/r`, 'git clone https://<redacted:github-token>@github.com/o/r');
    expectRedacted(`export GITHUB_TOKEN=${GITHUB_PAT}`, 'export GITHUB_TOKEN=<redacted:github-token>');
    expectRedacted(`headers: { "PRIVATE-TOKEN": "${GITLAB}" }`, 'headers: { "PRIVATE-TOKEN": "<redacted:gitlab-token>" }');
    expectRedacted(`client = WebClient(token="${SLACK}")`, 'client = WebClient(token="<redacted:slack-token>")');
    expectRedacted(`const stripe = new Stripe('${STRIPE_LIVE}');`, "const stripe = new Stripe('<redacted:stripe-key>');");
    expectRedacted(`STRIPE_KEY=${STRIPE_RESTRICTED}`, 'STRIPE_KEY=<redacted:stripe-key>');
    expectRedacted(`//registry.npmjs.org/:_authToken=${NPM}`, '//registry.npmjs.org/:_authToken=<redacted:npm-token>');
    expectRedacted(`const anthropic = new Anthropic({ apiKey: "${ANTHROPIC}" });`, 'const anthropic = new Anthropic({ apiKey: "<redacted:anthropic-key>" });');
    expectRedacted(`openai.api_key = "${OPENAI}"`, 'openai.api_key = "<redacted:openai-key>"');
    expectRedacted(`OPENAI_API_KEY=${OPENAI_LEGACY}`, 'OPENAI_API_KEY=<redacted:openai-key>');
  });

  it('redacts JWTs wherever they stand', () => {
    expectRedacted(`const session = '${JWT}';`, "const session = '<redacted:jwt>';");
    expectRedacted(`curl -H "Authorization: Bearer ${JWT}" https://api.example.com`,
      'curl -H "Authorization: Bearer <redacted:jwt>" https://api.example.com');
    expectRedacted(`// token from the failing run: ${JWT}`, '// token from the failing run: <redacted:jwt>');
  });

  it('redacts a Slack webhook path, keeping the host', () => {
    expectRedacted('const hook = "https://hooks.slack.com/services/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";',
      'const hook = "https://hooks.slack.com/services/<redacted:slack-webhook>";');
  });

  it('leaves placeholders and look-alikes of those formats alone', () => {
    expectUnchanged('const token = "ghp_your_token_here";');
    expectUnchanged('SLACK_BOT_TOKEN=xoxb-your-bot-token');
    expectUnchanged('stripe.keys.test = "sk_test_YOURSECRETKEYHERE"');
    expectUnchanged('<div class="sk-spinner-double-bounce-container-large"></div>');
    expectUnchanged('const AKIA = 1; const ASIA_PACIFIC = "region";');
    expectUnchanged('if (header.startsWith("eyJ")) return decodeJwt(header);');
  });
});

describe('redactSecrets: private keys', () => {
  for (const type of ['RSA ', 'EC ', 'OPENSSH ', 'DSA ', 'ENCRYPTED ', '']) {
    it(`redacts a ${type || 'PKCS#8 '}block to one placeholder`, () => {
      expectRedacted(`before\n${pem(type)}\nafter\n`, 'before\n<redacted:private-key>\nafter\n');
    });
  }

  it('redacts PGP private key blocks with their armour headers', () => {
    const block = `-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\nComment: https://gnupg.org\n\nlQOYBF${PEM_BODY.join('\n')}\n=Ab3d\n-----END PGP PRIVATE KEY BLOCK-----`;
    expectRedacted(`${block}\n`, '<redacted:private-key>\n');
  });

  it('redacts an encrypted PEM with Proc-Type and DEK-Info headers', () => {
    const block = pem('RSA ', ['Proc-Type: 4,ENCRYPTED', 'DEK-Info: AES-128-CBC,3F17F5316E2BAC89', '', ...PEM_BODY]);
    expectRedacted(block, '<redacted:private-key>');
  });

  it('redacts keys inside string literals, with \\n escapes or split over concatenated literals', () => {
    const escaped = pem('', PEM_BODY).replace(/\n/g, '\\n');
    expectRedacted(`{"type": "service_account", "private_key": "${escaped}\\n", "client_email": "ci@p.iam.example.com"}`,
      '{"type": "service_account", "private_key": "<redacted:private-key>\\n", "client_email": "ci@p.iam.example.com"}');
    const split = `const key =\n  "-----BEGIN RSA PRIVATE KEY-----\\n" +\n  "${PEM_BODY[0]}\\n" +\n  "${PEM_BODY[1]}\\n" +\n  "-----END RSA PRIVATE KEY-----\\n";\nexport default key;`;
    expectRedacted(split, 'const key =\n  "<redacted:private-key>\\n";\nexport default key;');
  });

  it('redacts a key cut off by the edge of a window: BEGIN without END, END without BEGIN', () => {
    // A prefix that stops inside the key (possibly inside the END line).
    expectRedacted(`const key = \`-----BEGIN OPENSSH PRIVATE KEY-----\n${PEM_BODY[0]}\n${PEM_BODY[1]!.slice(0, 30)}`,
      'const key = `<redacted:private-key>');
    expectRedacted(`${pem('RSA ').slice(0, -12)}`, '<redacted:private-key>');
    // A suffix that starts inside the key.
    expectRedacted(`${PEM_BODY[2]!.slice(20)}\n${PEM_BODY[3]}\n-----END RSA PRIVATE KEY-----\`;\nexport default key;\n`,
      '<redacted:private-key>`;\nexport default key;\n');
  });

  it('leaves BEGIN and END constants of a PEM parser, and public keys, alone', () => {
    expectUnchanged("const BEGIN = '-----BEGIN RSA PRIVATE KEY-----';\nconst END = '-----END RSA PRIVATE KEY-----';\n");
    expectUnchanged(`-----BEGIN PUBLIC KEY-----\n${PEM_BODY.join('\n')}\n-----END PUBLIC KEY-----`);
    expectUnchanged('if (line.startsWith("-----BEGIN EC PRIVATE KEY-----")) return parseEc(lines);');
  });
});

describe('redactSecrets: URLs and Authorization headers', () => {
  it('redacts the password of URL user info, keeping user and host', () => {
    expectRedacted('DATABASE_URL=postgres://admin:S3cr3tP4ss@db.internal:5432/app', 'DATABASE_URL=postgres://admin:<redacted:password>@db.internal:5432/app');
    expectRedacted('mongo = MongoClient("mongodb+srv://svc-reader:q7Wz!x2Lp@cluster0.mongodb.net/db")',
      'mongo = MongoClient("mongodb+srv://svc-reader:<redacted:password>@cluster0.mongodb.net/db")');
    expectRedacted('redis://:hR4vT9qL2@cache:6379/0', 'redis://:<redacted:password>@cache:6379/0');
  });

  it('leaves URLs without a password, built in code, or with a placeholder alone', () => {
    expectUnchanged('ssh://git@github.com:22/owner/repo.git');
    expectUnchanged('http://localhost:3000/api?email=user@example.com');
    expectUnchanged('const url = `postgres://${user}:${password}@${host}:5432/app`;');
    expectUnchanged("const url = 'postgres://' + user + ':' + password + '@' + host;");
    expectUnchanged('postgres://user:password@localhost/db and amqp://guest:****@rabbit/');
    expectUnchanged('fmt.Sprintf("postgres://%s:%s@%s/db", user, password, host)');
  });

  it('redacts Bearer tokens and Basic credentials', () => {
    expectRedacted('Authorization: Bearer 4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c', 'Authorization: Bearer <redacted:bearer-token>');
    expectRedacted('fetch(url, { headers: { Authorization: "Bearer q8Zx3Lm9Vt2Rw7Yp4Nb1" } })',
      'fetch(url, { headers: { Authorization: "Bearer <redacted:bearer-token>" } })');
    // base64("deploy:hunter22")
    expectRedacted('curl -H "Authorization: Basic ZGVwbG95Omh1bnRlcjIy" https://x', 'curl -H "Authorization: Basic <redacted:basic-auth>" https://x');
  });

  it('leaves headers built in code and prose about them alone', () => {
    expectUnchanged('const headers = { Authorization: `Bearer ${token}` };');
    expectUnchanged("const header = 'Bearer ' + accessToken;");
    expectUnchanged('Bearer authentication sends the token in a header; Basic authentication sends a password.');
  });
});

describe('redactSecrets: values assigned to secret-like names', () => {
  const cases: [string, string][] = [
    // JS / TS
    ['const password = "hunter2";', 'const password = "<redacted:password>";'],
    ["let dbPassword = 'Tr0ub4dor&3';", "let dbPassword = '<redacted:password>';"],
    ['const config = { "apiKey": "a8F3kL9mQ2xZ7wR4" };', 'const config = { "apiKey": "<redacted:api-key>" };'],
    ["const opts = { token: 'Zx81Kd02LmQ7', user: 'ci' };", "const opts = { token: '<redacted:token>', user: 'ci' };"],
    ['this.clientSecret = `cS9-vT2qW8xL4zR1`;', 'this.clientSecret = `<redacted:secret>`;'],
    ["headers['x-api-key'] = 'k7Qw2Zx9Lm4Vt8Rp';", "headers['x-api-key'] = '<redacted:api-key>';"],
    ['const apiKey: string = "9c1e7f0b2a4d6c8e";', 'const apiKey: string = "<redacted:api-key>";'],
    // Go
    ['authToken := "9c1e7f0b2a4d6c8e3f5a"', 'authToken := "<redacted:token>"'],
    ['cfg := Config{Password: "s3cr3t-Pa55", Host: "db"}', 'cfg := Config{Password: "<redacted:password>", Host: "db"}'],
    // Python
    ['SECRET_KEY = "django-insecure-7x#k2@qz9!m4w&r8"', 'SECRET_KEY = "<redacted:secret>"'],
    ['client = Client(api_key="c2a4e6f8b1d3")', 'client = Client(api_key="<redacted:api-key>")'],
    ["    password: str = 'P@ssw0rd!'", "    password: str = '<redacted:password>'"],
    ['os.environ["AUTH_TOKEN"] = r"t0k-9xQ2wZ7v"', 'os.environ["AUTH_TOKEN"] = r"<redacted:token>"'],
    // Ruby / PHP
    ["'password' => 'Wint3r2024!',", "'password' => '<redacted:password>',"],
    // YAML
    ['database:\n  password: s3cr3t!\n  user: app', 'database:\n  password: <redacted:password>\n  user: app'],
    ["auth:\n  token: 'Zq8Xk3Lm9Vt2'  # rotated monthly", "auth:\n  token: '<redacted:token>'  # rotated monthly"],
    // .env, shell, properties
    ['SECRET_KEY=changeme', 'SECRET_KEY=<redacted:secret>'],
    ['DB_PASSWORD=sunshine\nDB_USER=app', 'DB_PASSWORD=<redacted:password>\nDB_USER=app'],
    ['export API_KEY="z9Y8x7W6v5U4"', 'export API_KEY="<redacted:api-key>"'],
    ['spring.datasource.password=Qx7!mZ2p', 'spring.datasource.password=<redacted:password>'],
    ['docker run -e MYSQL_ROOT_PASSWORD=r00tPa55 mysql', 'docker run -e MYSQL_ROOT_PASSWORD=<redacted:password> mysql'],
    ['mysql --password=Qx7mZ2p9 -u root', 'mysql --password=<redacted:password> -u root'],
    // .npmrc: base64 of user:password, here all letters (no digit to give it away)
    ['_auth=dXNlcjpwYXNz', '_auth=<redacted:auth>'], // base64("user:pass")
    // entropy rule for other …key names
    ['encryption_key = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"', 'encryption_key = "<redacted:key>"'],
    ['const signingKey = "Xk3Lm9Vt2Rw7Yp4Nb1Hc6Jd0";', 'const signingKey = "<redacted:key>";'],
  ];
  for (const [input, expected] of cases) {
    it(`redacts ${JSON.stringify(input)}`, () => expectRedacted(input, expected));
  }

  it('leaves values that read as words, references, types and expressions alone', () => {
    for (const input of [
      'password: "Enter your password"',
      "const labels = { password: 'Password', token: 'Token', secret: 'Secret' };",
      '{ token: "keyword.operator", regex: "=" }',
      "'password' => 'required|string|min:8|confirmed'",
      '"password": "パスワード", "passwort": "Passwort"',
      'password: string;',
      'token?: string',
      'const password = process.env.PASSWORD;',
      'const token = await getToken();',
      'token = tokens[i]',
      '    password=password,',
      '    token=access_token',
      'conn = connect(password=pw, host=host)',
      'if (password === "hunter2") fail();',
      'PWD=/home/user/project',
      'POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}',
      'NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}',
      'export OLLAMA_API_KEY=your_api_key',
      'password = "%s"',
      'token: "<your-token>"',
      'Token: "#d0d0d0",',
      'random_device(const std::string& __token = "mt19937")',
      'cacheKey = "user:profile:settings"',
      'const publicKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEb3g2kL9v";',
      'idempotencyKey = "aaaaaaaaaaaaaaaaaaaaaaaa1"',
      'const tokenizer = "bpe"; const tokens = "abc123"; const maxTokens = 128;',
      'passwordField = "pw1234"; author = "J. R. 2nd"; bypass = "x9y8z7w6";',
    ]) {
      expectUnchanged(input);
    }
  });
});

describe('redactSecrets: ordinary code is left alone', () => {
  function expectFileUnchanged(path: string): void {
    const text = readFileSync(path, 'utf8');
    const result = redactSecrets(text);
    if (result.redactions > 0) {
      // Name the first changed line, not a diff of the whole file.
      const before = text.split('\n');
      const after = result.text.split('\n');
      const line = before.findIndex((l, i) => l !== after[i]);
      expect(`${path}:${line + 1}: ${after[line]}`).toBe(`${path}:${line + 1}: ${before[line]}`);
    }
    expect(result.text).toBe(text);
  }

  it('leaves hand-written code about passwords, tokens and keys unchanged', () => {
    expectFileUnchanged(join(PACKAGE_ROOT, 'test/unit/feedback/fixtures/ordinary-code.ts.txt'));
    expectFileUnchanged(join(PACKAGE_ROOT, 'test/unit/feedback/fixtures/ordinary-config.txt'));
  });

  it('leaves zod and the TypeScript standard library unchanged', () => {
    expectFileUnchanged(join(PACKAGE_ROOT, 'node_modules/zod/src/v3/types.ts'));
    expectFileUnchanged(join(PACKAGE_ROOT, 'node_modules/typescript/lib/lib.es5.d.ts'));
    expectFileUnchanged(join(PACKAGE_ROOT, 'node_modules/typescript/lib/lib.dom.d.ts'));
  });

  it("leaves this project's own server code unchanged", () => {
    const files = readdirSync(join(PACKAGE_ROOT, 'server'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) expectFileUnchanged(join(PACKAGE_ROOT, 'server', file));
  });
});

describe('redactSecrets: cost and idempotence', () => {
  it('returns the very same string for text with no candidate', () => {
    const text = 'function add(a: number, b: number): number {\n  return a + b;\n}\n'.repeat(1000);
    const result = redactSecrets(text);
    expect(result.redactions).toBe(0);
    expect(result.text).toBe(text);
    expect(redactSecrets('')).toEqual({ text: '', redactions: 0 });
  });

  it('finishes on 1 MB adversarial inputs (no catastrophic backtracking)', () => {
    const MB = 1 << 20;
    const fill = (s: string) => s.repeat(Math.ceil(MB / s.length)).slice(0, MB);
    const inputs = [
      fill('a'), fill('AKIA'), 'ghp_' + fill('a'), fill('eyJ'), fill('eyJaaaaaaaaa.'), fill('-----BEGIN RSA PRIVATE KEY-----\n'),
      fill('-----END PRIVATE KEY-----\n'), '-----BEGIN RSA PRIVATE KEY-----\n' + fill('MIIEowIBAAKCAQEA\n'), 'http://' + fill('a:'),
      fill('a://b:'), fill('password='), fill('password="'), fill('TOKEN=a '), fill('token: '), fill('"token":"'),
      'password = "' + fill('\\'), fill('Bearer '), 'Bearer ' + fill('a1'), 'Basic ' + fill('YWJj'), 'sk-' + fill('a-'),
      fill('password: str'), 'TOKEN=' + fill(' '), fill("['api_key']"), fill('a.'), fill('a-'),
    ];
    for (const input of inputs) {
      const result = redactSecrets(input);
      expect(typeof result.redactions).toBe('number');
      expect(redactSecrets(result.text).redactions).toBe(0);
    }
  });

  it('counts every secret of a mixed text and redacts it only once', () => {
    const text = [
      `const aws = "${AWS_ID}";`,
      `const gh = "${GITHUB_TOKENS[0]}";`,
      'db:\n  password: s3cr3t!',
      'postgres://app:Qz8Kx3Lm@db/app',
      pem('EC '),
    ].join('\n');
    const once = redactSecrets(text);
    expect(once.redactions).toBe(5);
    expect(once.text).not.toMatch(/AKIA|ghp_|s3cr3t|Qz8Kx3Lm|MIIE/);
    expect(redactSecrets(once.text)).toEqual({ text: once.text, redactions: 0 });
  });
});

describe('secret-like names and values', () => {
  it('matches names by whole words, case-insensitively', () => {
    for (const name of ['password', 'DB_PASSWORD', 'dbPassword', 'passwd', 'pwd', 'secret', 'client_secret', 'clientSecret', 'SECRET_KEY',
      'token', 'authToken', 'auth_token', 'GITHUB_TOKEN', 'apiKey', 'api-key', 'API_KEY', 'APIKEY', 'x-api-key', 'accessKey', 'private_key',
      'auth', 'credentials', 'bearer', 'spring.datasource.password', 'this.token', 'password2']) {
      expect(assignedSecretKind(name), name).toBeDefined();
    }
    for (const name of ['tokenizer', 'tokens', 'maxTokens', 'tokenType', 'passwordField', 'passwordHash', 'author', 'oauth', 'bypass',
      'compass', 'secretName', 'apiKeyHeader', 'key', 'publicKey', 'monkey', 'keyword', 'authorization_url', 'credentialsPath']) {
      expect(assignedSecretKind(name), name).toBeUndefined();
    }
    expect(assignedSecretKind('encryptionKey')).toEqual({ kind: 'key', strength: 'key' });
  });

  it('tells words from secrets', () => {
    expect(isWordish('Password', false)).toBe(true);
    expect(isWordish('keyword.operator', false)).toBe(true);
    expect(isWordish('required|min:8', false)).toBe(true);
    expect(isWordish('hunter2', false)).toBe(false);
    expect(isWordish('hunter2', true)).toBe(true);
    expect(isWordish('ad180jjd733klru7', true)).toBe(false);
  });

  it('measures Shannon entropy in bits per character', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
    expect(shannonEntropy('0123456789abcdef')).toBe(4);
  });
});
