import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureDataDir, resolveDataDir } from '../../../server/store/data-dir.js';
import { cleanupTempDirs, tempDir } from './helpers.js';

afterEach(cleanupTempDirs);

describe('resolveDataDir', () => {
  it('prefers XENCODE_DATA_DIR, then $XDG_DATA_HOME/xencode, then ~/.local/share/xencode', () => {
    expect(resolveDataDir({ XENCODE_DATA_DIR: '/data/x', XDG_DATA_HOME: '/xdg', HOME: '/home/u' })).toBe('/data/x');
    expect(resolveDataDir({ XDG_DATA_HOME: '/xdg', HOME: '/home/u' })).toBe('/xdg/xencode');
    expect(resolveDataDir({ HOME: '/home/u' })).toBe('/home/u/.local/share/xencode');
  });

  it('ignores empty values and a relative XDG_DATA_HOME (invalid per the XDG spec), expands a leading ~', () => {
    expect(resolveDataDir({ XENCODE_DATA_DIR: '  ', XDG_DATA_HOME: 'rel/dir', HOME: '/home/u' })).toBe('/home/u/.local/share/xencode');
    expect(resolveDataDir({ XENCODE_DATA_DIR: '~/cache/xencode', HOME: '/home/u' })).toBe('/home/u/cache/xencode');
  });
});

describe('ensureDataDir', () => {
  it('creates missing levels, private to the user', () => {
    const dir = join(tempDir(), 'a', 'b', 'xencode');
    expect(ensureDataDir(dir)).toEqual({ ok: true, created: true });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(ensureDataDir(dir)).toEqual({ ok: true, created: false });
  });

  it('fails with ENOTDIR when a parent is a regular file (fails for root too)', () => {
    const file = join(tempDir(), 'plain-file');
    writeFileSync(file, 'x');
    const result = ensureDataDir(join(file, 'xencode'));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe('ENOTDIR');
  });

  it.skipIf(!existsSync('/proc/self'))('returns an error instead of hanging on a pseudo file system (/proc)', () => {
    // Node 20's mkdirSync(..., { recursive: true }) loops forever here.
    const result = ensureDataDir('/proc/xencode-test/data');
    expect(result.ok).toBe(false);
    expect(existsSync('/proc/xencode-test')).toBe(false);
  });
});
