import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RepriseError } from '../core/errors.js';
import { StorageError } from './backend.js';
import { openBackend, toRepriseStorageError } from './open.js';

describe('openBackend', () => {
  it('opens a relative path under baseDir and writes there', async () => {
    const base = await mkdtemp(join(tmpdir(), 'reprise-open-'));
    try {
      const backend = openBackend({ url: './repo' }, base);
      expect(backend.location).toBe(join(base, 'repo'));
      await backend.put('config', new TextEncoder().encode('x'));
      expect(await readFile(join(base, 'repo', 'config'), 'utf8')).toBe('x');
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  it('opens absolute paths, file:// urls and ~/ paths', () => {
    expect(openBackend({ url: '/srv/backups' }, '/elsewhere').location).toBe('/srv/backups');
    expect(openBackend({ url: pathToFileURL('/srv/b c').href }, '/elsewhere').location).toBe('/srv/b c');
    expect(openBackend({ url: '~/backups' }, '/elsewhere').location).toBe(join(homedir(), 'backups'));
  });

  it('shares a memory:// store by name within the process', async () => {
    const name = `open-test-${Math.random()}`;
    await openBackend({ url: `memory://${name}` }, '/').put('k', new Uint8Array([5]));
    expect((await openBackend({ url: `memory://${name}` }, '/').get('k'))[0]).toBe(5);
    expect(await openBackend({ url: `memory://${name}-other` }, '/').stat('k')).toBeUndefined();
  });

  it('opens s3://bucket/prefix without I/O and shows the location without credentials', () => {
    const backend = openBackend(
      { url: 's3://akig-backups/prod', endpoint: 'https://s3.eu-west-3.amazonaws.com', region: 'eu-west-3', access_key_id: 'AKIA', secret_access_key: 'secret' },
      '/',
    );
    expect(backend.location).toBe('s3://akig-backups/prod/');
    expect(backend.location).not.toContain('secret');
  });

  it.each(['gs://bucket/x', 'sftp://host/path', 'azure://c'])('refuses the unknown scheme of %s with a hint', (url) => {
    try {
      openBackend({ url }, '/');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RepriseError);
      expect((err as RepriseError).code).toBe('REPRISE_CONFIG_INVALID');
      expect((err as RepriseError).message).toContain(url);
      expect((err as RepriseError).hint).toContain('s3://');
    }
  });

  it('refuses an s3 url without bucket and half-given credentials', () => {
    expect(() => openBackend({ url: 's3://' }, '/')).toThrow(expect.objectContaining({ code: 'REPRISE_CONFIG_INVALID' }));
    expect(() => openBackend({ url: 's3://b/p', access_key_id: 'AKIA' }, '/')).toThrow(
      expect.objectContaining({ code: 'REPRISE_CONFIG_INVALID' }),
    );
  });
});

describe('toRepriseStorageError', () => {
  it.each([
    ['not_found', 'REPRISE_STORAGE_NOT_FOUND'],
    ['permission', 'REPRISE_STORAGE_PERMISSION'],
    ['transient', 'REPRISE_STORAGE'],
    ['fatal', 'REPRISE_STORAGE'],
    ['exists', 'REPRISE_STORAGE'],
  ] as const)('maps %s to %s and keeps the key', (kind, code) => {
    const converted = toRepriseStorageError(new StorageError(kind, 'it failed', { key: 'data/ab/pack' }));
    expect(converted.code).toBe(code);
    expect(converted.message).toContain('data/ab/pack');
    expect(converted.details).toEqual({ kind, key: 'data/ab/pack' });
    expect(converted.cause).toBeInstanceOf(StorageError);
  });

  it('does not repeat a key already in the message', () => {
    const converted = toRepriseStorageError(new StorageError('not_found', 'no such object: snapshots/1', { key: 'snapshots/1' }));
    expect(converted.message).toBe('no such object: snapshots/1');
  });

  it('maps aborts to REPRISE_ABORTED and passes RepriseErrors through', () => {
    const ac = new AbortController();
    ac.abort();
    expect(toRepriseStorageError(ac.signal.reason).code).toBe('REPRISE_ABORTED');
    const original = new RepriseError('REPRISE_REPO_LOCKED', 'locked');
    expect(toRepriseStorageError(original)).toBe(original);
  });
});
