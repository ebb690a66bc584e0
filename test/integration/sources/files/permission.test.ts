import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRepriseError } from '../../../../src/core/errors.js';
import type { DumpPart } from '../../../../src/sources/source.js';
import { dumpNames, filesSource, isRoot, makeTempDir, removeDir } from './fixture.js';

// Root reads everything, so as root the test switches its effective uid to nobody around each
// case (seteuid, reversible; this file runs in its own worker process).
const NOBODY = 65534;

async function asNobody<T>(work: () => Promise<T>): Promise<T> {
  if (!isRoot) return work();
  process.seteuid?.(NOBODY);
  try {
    return await work();
  } finally {
    process.seteuid?.(0);
  }
}

describe('files source: permission denied', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('perm');
    await chmod(dir, 0o755);
  });
  afterAll(async () => {
    if (isRoot) process.seteuid?.(0);
    // Without root, a mode-000 directory cannot be emptied until it is opened up again.
    await chmod(join(dir, 'locked-dir/private'), 0o755).catch(() => undefined);
    await removeDir(dir);
  });

  it('a file this user may not read fails the read with REPRISE_SOURCE_UNREADABLE naming it', async () => {
    const root = join(dir, 'locked-file');
    await mkdir(root, { mode: 0o755 });
    await writeFile(join(root, 'open.txt'), 'readable', { mode: 0o644 });
    await writeFile(join(root, 'secret.txt'), 'no', { mode: 0o000 });
    const outcome = await asNobody(async () => {
      const read: Record<string, string> = {};
      for await (const part of filesSource(root).dump(new AbortController().signal)) {
        if (part.type !== 'file') continue;
        try {
          read[part.name] = await text(part);
        } catch (err) {
          return { read, err };
        }
      }
      return { read, err: undefined };
    });
    expect(outcome.read).toEqual({ 'open.txt': 'readable' });
    expect(isRepriseError(outcome.err, 'REPRISE_SOURCE_UNREADABLE')).toBe(true);
    expect((outcome.err as Error).message).toContain(join(root, 'secret.txt'));
    expect((outcome.err as Error).message).toContain('EACCES');
    expect((outcome.err as { hint: string }).hint).toMatch(/user/);
  });

  it('a directory this user may not list fails the dump', async () => {
    const root = join(dir, 'locked-dir');
    await mkdir(join(root, 'private'), { recursive: true, mode: 0o755 });
    await chmod(join(root, 'private'), 0o000);
    const err = await asNobody(() => dumpNames(filesSource(root)).catch((e: unknown) => e));
    expect(isRepriseError(err, 'REPRISE_SOURCE_UNREADABLE')).toBe(true);
    expect((err as Error).message).toContain(join(root, 'private'));
  });
});

async function text(part: DumpPart): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of part.open?.() ?? []) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString();
}
