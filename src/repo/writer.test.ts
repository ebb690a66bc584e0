import { describe, expect, it } from 'vitest';
import type { PartMeta } from '../sources/source.js';
import { partEntry } from './writer.js';

describe('partEntry', () => {
  it('orders fields as a spread of the meta followed by chunks, size and checksum (the part list bytes depend on it)', () => {
    const withSize: PartMeta = { name: 'a/b.txt', type: 'file', mode: 0o100644, mtimeMs: 1.5, uid: 1, gid: 2, size: 9, changeKey: '9:1:2:3' };
    const withoutSize: PartMeta = { name: 'db.sql', type: 'file', extra: { format: 'plain' } };
    const link: PartMeta = { name: 'l', type: 'symlink', mode: 0o120777, linkTarget: 'a/b.txt' };
    for (const meta of [withSize, withoutSize, link]) {
      for (const checksum of [{ crc32: '0badf00d' }, { sha256: 'ab'.repeat(32) }, {}]) {
        const entry = partEntry(meta, ['c1', 'c2'], 42, checksum);
        expect(JSON.stringify(entry)).toBe(JSON.stringify({ ...meta, chunks: ['c1', 'c2'], size: 42, ...checksum }));
      }
    }
    expect(Object.keys(partEntry(withSize, [], 9, { crc32: '00000000' }))).toEqual(['name', 'type', 'mode', 'mtimeMs', 'uid', 'gid', 'size', 'changeKey', 'chunks', 'crc32']);
  });
});
