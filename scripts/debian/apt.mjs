// The Debian mirror this machine's apt already uses, and private apt directories (own sources, lists, cache and
// an empty dpkg status) that resolve and download packages without installing anything and without root.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { APT, DEBS, FetchError, log, run, runSync } from './util.mjs';

/** Parses apt's one-line and deb822 source files into {types, uris, suites, components, signedBy, trusted}. */
function aptSources() {
  const entries = [];
  const files = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  try {
    for (const f of readdirSync('/etc/apt/sources.list.d').sort()) {
      if (f.endsWith('.list') || f.endsWith('.sources')) files.push(join('/etc/apt/sources.list.d', f));
    }
  } catch {
    /* no folder */
  }
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const fields = {};
        let key;
        for (const line of stanza.split('\n')) {
          if (/^\s*#/.test(line)) continue;
          const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
          if (m) fields[(key = m[1].toLowerCase())] = m[2].trim();
          else if (key && /^\s/.test(line)) fields[key] += `\n${line.trim()}`;
        }
        if (!fields.uris || (fields.enabled ?? 'yes').toLowerCase() === 'no') continue;
        entries.push({
          file,
          types: (fields.types ?? '').split(/\s+/),
          uris: fields.uris.split(/\s+/),
          suites: (fields.suites ?? '').split(/\s+/),
          components: (fields.components ?? '').split(/\s+/),
          signedBy: fields['signed-by'] ?? '',
          trusted: (fields.trusted ?? '').toLowerCase() === 'yes',
        });
      }
    } else {
      for (const line of text.split('\n')) {
        const m = /^\s*(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
        if (!m) continue;
        const options = Object.fromEntries(
          (m[2] ?? '')
            .trim()
            .split(/\s+/)
            .filter(Boolean)
            .map((o) => [o.split('=')[0].toLowerCase(), o.split('=')[1] ?? '']),
        );
        entries.push({
          file,
          types: [m[1]],
          uris: [m[3]],
          suites: [m[4]],
          components: m[5].split(/\s+/),
          signedBy: options['signed-by'] ?? '',
          trusted: options.trusted === 'yes',
        });
      }
    }
  }
  return entries;
}

const DEBIAN_SUITES = new RegExp(
  '^(buster|bullseye|bookworm|trixie|forky|duke|sid|oldoldstable|oldstable|stable|testing|unstable|experimental)' +
    '(-updates|-backports|-proposed-updates)?$',
);

/** The Debian mirror this machine's apt uses (not its security archive, not third-party repositories). */
export function debianMirror() {
  const forced = process.env.XENCODE_DEBIAN_MIRROR;
  if (forced) {
    const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
    const keyrings = existsSync(keyring) ? [keyring] : [];
    return { uri: forced, from: 'XENCODE_DEBIAN_MIRROR', keyrings, trusted: false };
  }
  for (const e of aptSources()) {
    if (!e.types.includes('deb') || !e.components.includes('main')) continue;
    if (!e.suites.some((s) => DEBIAN_SUITES.test(s))) continue;
    const uri = e.uris.find((u) => !/security/.test(u) && !u.startsWith('cdrom:'));
    // The keyrings that verify this mirror (a local mirror may re-sign), then Debian's own; not inline keys.
    const keyrings = [...e.signedBy.split(/[\s,]+/), '/usr/share/keyrings/debian-archive-keyring.gpg'].filter(
      (k) => k.startsWith('/') && existsSync(k),
    );
    if (uri) return { uri, from: e.file, keyrings: [...new Set(keyrings)], trusted: e.trusted };
  }
  throw new FetchError(
    'no Debian mirror configured: found no "deb <URI> <suite> main" entry for a Debian suite in ' +
      '/etc/apt/sources.list or /etc/apt/sources.list.d/*.{list,sources}. ' +
      'Configure apt, or set XENCODE_DEBIAN_MIRROR to a Debian mirror URI.',
  );
}

/** The network-related settings of the system's apt (proxies, timeouts, TLS, validity checks), carried over. */
export function systemAcquireSettings() {
  let dump = '';
  try {
    dump = runSync('apt-config', ['dump'], { env: { APT_CONFIG: '' }, what: 'apt-config' });
  } catch {
    return '';
  }
  const keep = new RegExp(
    '^Acquire::(http|https|ftp|socks|Retries|Check-Valid-Until|Check-Date|Max-ValidTime|Min-ValidTime|' +
      'ForceIPv4|ForceIPv6|AllowInsecureRepositories|AllowWeakRepositories)\\b',
  );
  return dump
    .split('\n')
    .filter((l) => keep.test(l))
    .join('\n');
}

export const debArch = () => runSync('dpkg', ['--print-architecture'], { what: 'dpkg' }).trim();

/**
 * A private apt setup for a set of suites: its own sources, lists, cache and an empty dpkg status; none of the
 * system's apt.conf.d (no hooks, pins or extra index targets), except its network settings.
 */
export class PrivateApt {
  constructor(suites, ctx) {
    this.suites = suites;
    this.ctx = ctx;
    this.dir = join(APT, suites.join('+'));
  }

  setup() {
    const d = this.dir;
    for (const sub of ['sources', 'parts', 'lists/partial', 'cache/archives/partial']) {
      mkdirSync(join(d, sub), { recursive: true });
    }
    writeFileSync(join(d, 'status'), '');
    writeFileSync(join(d, 'empty'), '');
    const { uri, keyrings, trusted } = this.ctx.mirror;
    writeFileSync(
      join(d, 'sources', 'debian.sources'),
      [
        'Types: deb',
        `URIs: ${uri}`,
        `Suites: ${this.suites.join(' ')}`,
        'Components: main',
        // No keyring: apt falls back to /etc/apt/trusted.gpg.d (which holds Debian's keys on Debian).
        ...(keyrings.length ? [`Signed-By: ${keyrings.join(',')}`] : []),
        ...(trusted ? ['Trusted: yes'] : []),
        '',
      ].join('\n'),
    );
    const q = (s) => JSON.stringify(s);
    const conf = [
      `Dir::Etc::Parts ${q(join(d, 'parts'))};`,
      `Dir::Etc::main ${q(join(d, 'empty'))};`,
      `Dir::Etc::SourceList "/dev/null";`,
      `Dir::Etc::SourceParts ${q(join(d, 'sources'))};`,
      `Dir::Etc::Preferences ${q(join(d, 'empty'))};`,
      `Dir::Etc::PreferencesParts ${q(join(d, 'parts'))};`,
      `Dir::State ${q(d)};`,
      `Dir::State::Lists ${q(join(d, 'lists'))};`,
      `Dir::State::status ${q(join(d, 'status'))};`,
      `Dir::Cache ${q(join(d, 'cache'))};`,
      `Dir::Cache::archives ${q(join(d, 'cache', 'archives'))};`,
      `Dir::Cache::pkgcache ${q(join(d, 'cache', 'pkgcache.bin'))};`,
      'Dir::Cache::srcpkgcache "";',
      `Dir::Log ${q(join(d, 'log'))};`,
      `APT::Architecture ${q(this.ctx.arch)};`,
      `APT::Architectures { ${q(this.ctx.arch)}; };`,
      'APT::Install-Recommends "false";',
      'APT::Install-Suggests "false";',
      'Acquire::Languages "none";',
      'Acquire::GzipIndexes "true";',
      // As root apt would download as _apt, which may not write here; as any other user it does not switch.
      ...(process.getuid?.() === 0 ? ['APT::Sandbox::User "root";'] : []),
      this.ctx.acquire,
      '',
    ].join('\n');
    writeFileSync(join(d, 'apt.conf'), conf);
    this.env = { APT_CONFIG: join(d, 'apt.conf') };
  }

  /** apt-get update, once per run (a failure too is remembered: the next set does not wait for it again). */
  update() {
    this.updating ??= (async () => {
      this.setup();
      log(`apt-get update (${this.suites.join(' ')})`);
      const what = `apt-get update of ${this.suites.join('+')} from ${this.ctx.mirror.uri} (${this.ctx.mirror.from})`;
      try {
        // --error-on=any: without it an unreachable mirror is only a warning (exit 0, old or no lists used).
        await run('apt-get', ['update', '--error-on=any'], { env: this.env, what });
      } catch (err) {
        if (!(err instanceof FetchError)) throw err;
        const lines = err.message.split('\n').filter((l) => /^(Err:|E:|W:)|^\s+\S/.test(l));
        const shown = (lines.length ? lines : [err.message]).map((l) => l.trim());
        throw new FetchError(`${what} failed:\n    ${shown.join('\n    ')}`);
      }
    })();
    return this.updating;
  }

  /** The packages `apt-get install specs…` would unpack on an empty system, in apt's order: [{name, version, arch}]. */
  async resolve(specs) {
    const out = await run('apt-get', ['install', '-s', '--no-install-recommends', ...specs], {
      env: this.env,
      what: `resolving ${specs.join(' ')}`,
    });
    const pkgs = [];
    for (const line of out.split('\n')) {
      const m = /^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) .*\[([^\]]+)\]\)/.exec(line);
      if (m) pkgs.push({ name: m[1], version: m[2], arch: m[3] });
    }
    return pkgs;
  }

  /** Downloads what is not in DEBS yet; returns the .deb paths, in the order given. */
  async download(pkgs) {
    mkdirSync(DEBS, { recursive: true });
    const file = (p) => join(DEBS, `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`);
    const missing = pkgs.filter((p) => !existsSync(file(p)));
    if (missing.length) {
      log(`downloading ${missing.length} packages`);
      const partial = join(DEBS, `partial-${process.pid}`);
      rmSync(partial, { recursive: true, force: true });
      mkdirSync(partial);
      try {
        await run('apt-get', ['download', ...missing.map((p) => `${p.name}=${p.version}`)], {
          env: this.env,
          cwd: partial,
          what: 'apt-get download',
        });
        for (const p of missing) {
          const got = join(partial, basename(file(p)));
          if (!existsSync(got)) throw new FetchError(`apt-get download did not produce ${basename(got)}`);
          renameSync(got, file(p));
        }
      } finally {
        rmSync(partial, { recursive: true, force: true });
      }
    }
    return pkgs.map(file);
  }
}

/** What every private apt of a run shares: the mirror, the architecture, the network settings. */
export function aptContext() {
  return { mirror: debianMirror(), arch: debArch(), acquire: systemAcquireSettings(), apts: new Map() };
}

/** The private apt of a set of suites, one per run (so each is updated once). */
export function aptFor(ctx, suites) {
  const key = suites.join('+');
  let apt = ctx.apts.get(key);
  if (!apt) ctx.apts.set(key, (apt = new PrivateApt(suites, ctx)));
  return apt;
}
