import { describe, expect, it } from 'vitest';
import { databasePrefix, parsePartName, prefixDatabase, temporaryName } from './layout.js';

describe('postgres part names', () => {
  it('round-trips database names through one path segment', () => {
    for (const name of ['app', 'café 漢', 'a/b', '100%', '..', '.']) {
      const prefix = databasePrefix(name);
      expect(prefix).not.toContain('/');
      expect(prefix === '.' || prefix === '..').toBe(false);
      expect(prefixDatabase(prefix)).toBe(name);
    }
  });

  it('accepts only the files pg_dump writes', () => {
    expect(parsePartName('globals.sql')).toEqual({ globals: true });
    expect(parsePartName('a%2Fb/toc.dat')).toEqual({ database: 'a/b', file: 'toc.dat' });
    expect(parsePartName('db/3456.dat')).toEqual({ database: 'db', file: '3456.dat' });
    expect(parsePartName('db/blob_16400.dat')).toEqual({ database: 'db', file: 'blob_16400.dat' });
    for (const bad of ['db/../../etc/passwd', '/toc.dat', 'toc.dat', 'db/x.sh']) {
      expect(() => parsePartName(bad)).toThrow(expect.objectContaining({ code: 'REPRISE_INTEGRITY' }));
    }
  });

  it('names the temporary restore database after its target, within 63 bytes', () => {
    expect(temporaryName('app')).toMatch(/^app_restoring_[0-9a-f]{8}$/);
    const long = temporaryName('é'.repeat(40));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^é{20}_restoring_[0-9a-f]{8}$/);
    expect(temporaryName('x'.repeat(39) + 'é')).toMatch(/^x{39}_restoring_/);
  });
});
