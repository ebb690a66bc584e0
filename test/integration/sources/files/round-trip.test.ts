import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roundTrip, treeDigest } from '../../../helpers/source-roundtrip.js';
import { buildRichTree, filesSource, isRoot, makeTempDir, removeDir } from './fixture.js';

describe('files source round trip', () => {
  let dir: string;
  let src: string;

  beforeAll(async () => {
    dir = await makeTempDir('rt');
    src = join(dir, 'src');
    await buildRichTree(src);
  });
  afterAll(() => removeDir(dir));

  it('restores an identical tree: content, types, modes, owners, mtimes, links', async () => {
    const target = join(dir, 'restored');
    const result = await roundTrip(filesSource(src), target);

    const before = await treeDigest(src);
    const after = await treeDigest(target);
    expect(after).toEqual(before);
    // The digest really covers what the fixture set up (a vacuous comparison would pass too).
    const byPath = new Map(before.map((e) => [e.path, e]));
    expect(byPath.get('big.bin')?.size).toBe(20 * 1024 * 1024);
    expect(byPath.get('empty.txt')?.size).toBe(0);
    expect(byPath.get('empty-dir')).toMatchObject({ type: 'dir', mode: 0o700 });
    expect(byPath.get('shared')?.mode).toBe(0o2775);
    expect(byPath.get('secret.txt')?.mode).toBe(0o600);
    expect(byPath.get('run.sh')?.mode).toBe(0o755);
    expect(byPath.get('link-dangling')).toMatchObject({ type: 'symlink', linkTarget: 'does/not/exist' });
    expect(byPath.get('a/b/link-up')?.linkTarget).toBe('../../empty.txt');
    expect(byPath.get('naïve/日本語/файл с пробелом.txt')?.type).toBe('file');
    if (isRoot) expect(byPath.get('owned.txt')).toMatchObject({ uid: 1234, gid: 5678 });
    expect(new Set(before.map((e) => e.mtimeMs)).size).toBe(before.length);

    expect(result.location).toBe(target);
    expect(result.parts).toBe(before.length);
    const fileBytes = before.reduce((sum, e) => sum + (e.size ?? 0), 0);
    expect(result.bytes).toBe(fileBytes);
  });

  it('leaves no temp file behind and restores again over itself with force', async () => {
    const target = join(dir, 'restored-twice');
    await roundTrip(filesSource(src), target);
    await roundTrip(filesSource(src), target, { force: true });
    expect(await treeDigest(target)).toEqual(await treeDigest(src));
    const names = await readdir(target, { recursive: true });
    expect(names.filter((n) => n.includes('.reprise-tmp-'))).toEqual([]);
  });

  it('verify counts the restored files, dirs, links and bytes', async () => {
    const target = join(dir, 'restored');
    const source = filesSource(src);
    const result = await source.verify(target, new AbortController().signal);
    const bytes = (await treeDigest(src)).reduce((sum, e) => sum + (e.size ?? 0), 0);
    expect(result).toEqual({
      ok: true,
      problems: [],
      measurements: { files: 9, dirs: 7, symlinks: 4, bytes, skipped: 0 },
    });
    const missing = await source.verify(join(dir, 'nope'), new AbortController().signal);
    expect(missing.ok).toBe(false);
    expect(missing.problems[0]).toMatch(/does not exist/);
  });
});
