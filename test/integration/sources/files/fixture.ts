import { randomBytes } from 'node:crypto';
import { chmod, chown, lutimes, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFilesSource } from '../../../../src/sources/files/index.js';
import type { FilesSourceConfig } from '../../../../src/sources/files/schema.js';
import type { Source } from '../../../../src/sources/source.js';

export const isRoot = process.getuid?.() === 0;

/** A fresh temp directory per test file; remove it with `rm(dir, {recursive: true, force: true})`. */
export function makeTempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `reprise-files-${label}-`));
}

export function filesSource(path: string, extra: Partial<FilesSourceConfig> = {}, onWarning?: (w: { path: string; reason: string }) => void): Source {
  const config: FilesSourceConfig = { type: 'files', path, exclude: [], one_file_system: false, ...extra };
  return createFilesSource('test-files', config, '/', onWarning ? { onWarning } : {});
}

export async function dumpNames(source: Source): Promise<string[]> {
  const names: string[] = [];
  for await (const part of source.dump(new AbortController().signal)) names.push(part.name);
  return names;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Whole milliseconds, so restored mtimes compare exactly (see treeDigest). */
const BASE_TIME_S = Date.UTC(2021, 4, 6, 7, 8, 9, 123) / 1000;

/**
 * Builds the round-trip tree: nested and empty dirs, empty and 20 MiB files, non-ASCII names,
 * relative, absolute and dangling symlinks, modes 0600/0755/setgid dir, a foreign owner, and a
 * distinct mtime on every entry (set deepest first, the root last).
 */
export async function buildRichTree(root: string, bigBytes = 20 * 1024 * 1024): Promise<void> {
  const dirs = ['a', 'a/b', 'a/b/c', 'empty-dir', 'naïve', 'naïve/日本語', 'shared'];
  for (const d of dirs) await mkdir(join(root, d), { recursive: true });
  const files: Array<[string, Uint8Array | string, number]> = [
    ['a/b/c/deep.txt', 'deep content\n', 0o644],
    ['a/top.txt', 'top\n', 0o644],
    ['empty.txt', '', 0o644],
    ['big.bin', randomBytes(bigBytes), 0o644],
    ['naïve/日本語/файл с пробелом.txt', 'unicode ✓\n', 0o644],
    ['secret.txt', 'password=hunter2\n', 0o600],
    ['run.sh', '#!/bin/sh\necho hi\n', 0o755],
    ['shared/note.md', '# shared\n', 0o664],
    ['owned.txt', 'someone else\n', 0o640],
  ];
  for (const [rel, content, mode] of files) {
    await writeFile(join(root, rel), content);
    await chmod(join(root, rel), mode);
  }
  await chmod(join(root, 'shared'), 0o2775);
  await chmod(join(root, 'empty-dir'), 0o700);
  if (isRoot) await chown(join(root, 'owned.txt'), 1234, 5678);
  await symlink('a/b/c/deep.txt', join(root, 'link-rel'));
  await symlink('../../empty.txt', join(root, 'a/b/link-up'));
  await symlink('does/not/exist', join(root, 'link-dangling'));
  await symlink('/etc/hostname', join(root, 'link-abs'));

  const all = [...files.map(([rel]) => rel), 'link-rel', 'a/b/link-up', 'link-dangling', 'link-abs', ...dirs.reverse(), '.'];
  let i = 0;
  for (const rel of all) {
    const t = BASE_TIME_S + i++ * 3601.25;
    const abs = rel === '.' ? root : join(root, rel);
    if (rel.startsWith('link-') || rel.endsWith('link-up')) await lutimes(abs, t, t);
    else await utimes(abs, t, t);
  }
}
