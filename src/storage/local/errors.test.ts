import { describe, expect, it } from 'vitest';
import { StorageError } from '../backend.js';
import { fromFsError, kindOfErrno } from './errors.js';

describe('local errno mapping', () => {
  it.each([
    ['ENOENT', 'not_found'],
    ['ENOTDIR', 'not_found'],
    ['EACCES', 'permission'],
    ['EPERM', 'permission'],
    ['EROFS', 'permission'],
    ['EEXIST', 'exists'],
    ['EMFILE', 'transient'],
    ['EAGAIN', 'transient'],
    ['EBUSY', 'transient'],
    ['ENOSPC', 'fatal'],
    ['EIO', 'fatal'],
    [undefined, 'fatal'],
  ] as const)('%s → %s', (code, kind) => {
    expect(kindOfErrno(code)).toBe(kind);
  });

  it('wraps with the operation and key, and lets aborts through', () => {
    const wrapped = fromFsError(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }), 'put', 'keys/1');
    expect(wrapped).toMatchObject({ kind: 'permission', key: 'keys/1' });
    expect((wrapped as StorageError).message).toContain('put keys/1');
    const ac = new AbortController();
    ac.abort();
    expect(fromFsError(ac.signal.reason, 'get', 'k')).toBe(ac.signal.reason);
  });
});
