import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A marker string planted in every sample tree: it must never appear in a repository. */
export const PLAINTEXT_MARKER = 'REPRISE-PLAINTEXT-MARKER-7f3a9c';

/**
 * Writes a small mixed tree: text files carrying the marker, a compressible binary, an
 * incompressible blob, nested and empty dirs, a symlink.
 */
export function writeSampleTree(dir: string, options: { files?: number; blobBytes?: number } = {}): void {
  const files = options.files ?? 60;
  mkdirSync(path.join(dir, 'docs/nested/deeper'), { recursive: true });
  mkdirSync(path.join(dir, 'empty'), { recursive: true });
  for (let i = 0; i < files; i++) {
    writeFileSync(path.join(dir, `docs/${i % 3 === 0 ? 'nested/' : ''}file-${i}.txt`), `${PLAINTEXT_MARKER} ${i}\n${'lorem ipsum dolor '.repeat(100 + i * 7)}`);
  }
  writeFileSync(path.join(dir, 'docs/nested/deeper/zéro-été.txt'), `${PLAINTEXT_MARKER} accents\n`);
  writeFileSync(path.join(dir, 'compressible.bin'), Buffer.alloc(2 * 1024 * 1024, 'abcdefgh'));
  writeFileSync(path.join(dir, 'random.bin'), randomBytes(options.blobBytes ?? 3 * 1024 * 1024));
  writeFileSync(path.join(dir, 'empty.txt'), '');
  writeFileSync(path.join(dir, 'secret.sh'), '#!/bin/sh\necho hi\n', { mode: 0o750 });
  symlinkSync('docs/file-1.txt', path.join(dir, 'link-to-file'));
}

/** Every file under `dir` (recursive), for scanning a repository's bytes. */
export function allFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(full);
    }
  };
  walk(dir);
  return out;
}
