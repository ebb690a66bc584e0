import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRepriseError } from '../../../../src/core/errors.js';
import { createFilesSource } from '../../../../src/sources/files/index.js';
import type { DumpPart, Source } from '../../../../src/sources/source.js';
import { dumpNames, filesSource, isRoot, makeTempDir, removeDir } from './fixture.js';

async function readAll(part: DumpPart): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of part.open?.() ?? []) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function changeKeys(source: Source): Promise<Map<string, string | undefined>> {
  const keys = new Map<string, string | undefined>();
  for await (const part of source.dump(new AbortController().signal)) keys.set(part.name, part.changeKey);
  return keys;
}

/** Dumps until `victim`, lets `sabotage` change it on disk, then reads it: returns what reading threw. */
async function readAfter(source: Source, victim: string, sabotage: (abs: string) => Promise<void>, abs: string): Promise<unknown> {
  for await (const part of source.dump(new AbortController().signal)) {
    if (part.name !== victim) continue;
    await sabotage(abs);
    try {
      await readAll(part);
    } catch (err) {
      return err;
    }
    return undefined;
  }
  throw new Error(`part ${victim} not dumped`);
}

describe('files source dump', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('dump');
  });
  afterAll(() => removeDir(dir));

  it('yields the root as ".", each dir before its content, names in byte order, with metadata', async () => {
    const root = join(dir, 'order');
    await mkdir(join(root, 'b/inner'), { recursive: true });
    await mkdir(join(root, 'B'));
    await writeFile(join(root, 'b/inner/x'), 'xx');
    await writeFile(join(root, 'a.txt'), 'hello');
    await writeFile(join(root, 'é'), '');
    await symlink('a.txt', join(root, 'ln'));
    const parts: DumpPart[] = [];
    for await (const part of filesSource(root).dump(new AbortController().signal)) parts.push(part);
    expect(parts.map((p) => `${p.type}:${p.name}`)).toEqual([
      'dir:.',
      'dir:B',
      'file:a.txt',
      'dir:b',
      'dir:b/inner',
      'file:b/inner/x',
      'symlink:ln',
      'file:é',
    ]);
    const file = parts.find((p) => p.name === 'a.txt');
    expect(file).toMatchObject({ size: 5 });
    expect(file?.mode && file.mode & 0o170000).toBe(0o100000);
    expect((await readAll(file as DumpPart)).toString()).toBe('hello');
    expect(parts.find((p) => p.name === 'ln')).toMatchObject({ linkTarget: 'a.txt' });
    expect(parts.find((p) => p.name === 'ln')?.open).toBeUndefined();
  });

  it('excludes *.tmp at any depth and cache/ directories with their content', async () => {
    const root = join(dir, 'excl');
    await mkdir(join(root, 'cache/deep'), { recursive: true });
    await mkdir(join(root, 'sub/cache'), { recursive: true });
    await mkdir(join(root, 'sub/x.tmp'), { recursive: true });
    for (const f of ['keep.txt', 'a.tmp', 'sub/b.tmp', 'sub/keep.md', 'cache/c.txt', 'cache/deep/d', 'sub/cache/e', 'sub/x.tmp/inside']) {
      await writeFile(join(root, f), f);
    }
    await writeFile(join(root, 'sub/cachefile'), 'not a dir named cache');
    await writeFile(join(root, 'cache.txt'), 'kept');
    const names = await dumpNames(filesSource(root, { exclude: ['*.tmp', 'cache/'] }));
    expect(names).toEqual(['.', 'cache.txt', 'keep.txt', 'sub', 'sub/cachefile', 'sub/keep.md']);
  });

  it('forTarget reads the target path without the excludes', async () => {
    const root = join(dir, 'excl');
    const names = await dumpNames(filesSource(join(dir, 'elsewhere'), { exclude: ['*.tmp'] }).forTarget(root));
    expect(names).toContain('a.tmp');
    expect(names).toContain('cache/deep/d');
  });

  it('changeKey is stable across walks and changes on a same-size rewrite in the same second', async () => {
    const root = join(dir, 'keys');
    await mkdir(root);
    await writeFile(join(root, 'stable.txt'), 'unchanged');
    await writeFile(join(root, 'rewritten.txt'), 'AAAA');
    await writeFile(join(root, 'touched-back.txt'), 'BBBB');
    const source = filesSource(root);
    const first = await changeKeys(source);
    const second = await changeKeys(source);
    expect(second).toEqual(first);
    expect(first.get('stable.txt')).toMatch(/^9:\d+:\d+:\d+$/);
    expect(first.get('.')).toBeUndefined();

    // Same size, immediately: the second is the same, nanoseconds and ctime are not.
    await writeFile(join(root, 'rewritten.txt'), 'ZZZZ');
    // Same size and the old mtime put back: only ctime (and the engine's re-read) can tell.
    await writeFile(join(root, 'touched-back.txt'), 'CCCC');
    const oldMtime = Number(first.get('touched-back.txt')?.split(':')[1]) / 1e9;
    await utimes(join(root, 'touched-back.txt'), oldMtime, oldMtime);
    const third = await changeKeys(source);
    expect(third.get('stable.txt')).toBe(first.get('stable.txt'));
    expect(third.get('rewritten.txt')).not.toBe(first.get('rewritten.txt'));
    expect(third.get('touched-back.txt')).not.toBe(first.get('touched-back.txt'));
    expect(third.get('touched-back.txt')?.split(':')[0]).toBe('4');
  });

  it('skips FIFOs and sockets with a warning and without blocking', async () => {
    const root = join(dir, 'special');
    await mkdir(root);
    await writeFile(join(root, 'plain'), 'p');
    execFileSync('mkfifo', [join(root, 'fifo')]);
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(join(root, 'sock'), resolve));
    try {
      const warnings: Array<{ path: string; reason: string }> = [];
      const names = await dumpNames(filesSource(root, {}, (w) => warnings.push(w)));
      expect(names).toEqual(['.', 'plain']);
      expect(warnings.map((w) => `${w.reason}:${w.path}`)).toEqual(['special:fifo', 'special:sock']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('skips a name that is not valid UTF-8 with a warning (parts are named by strings)', async () => {
    const root = join(dir, 'latin1');
    await mkdir(root);
    await writeFile(join(root, 'ok.txt'), 'ok');
    await writeFile(Buffer.concat([Buffer.from(`${root}/caf`), Buffer.from([0xe9])]), 'latin-1 name');
    const warnings: Array<{ path: string; reason: string }> = [];
    expect(await dumpNames(filesSource(root, {}, (w) => warnings.push(w)))).toEqual(['.', 'ok.txt']);
    expect(warnings.map((w) => w.reason)).toEqual(['name-encoding']);
  });

  it('reads a 20 MiB file in chunks of at most 1 MiB with the same content', async () => {
    const root = join(dir, 'big');
    await mkdir(root);
    const data = Buffer.alloc(20 * 1024 * 1024 + 3, 7);
    data.write('start', 0);
    data.write('end', data.length - 3);
    await writeFile(join(root, 'big.bin'), data);
    for await (const part of filesSource(root).dump(new AbortController().signal)) {
      if (part.type !== 'file') continue;
      const hash = createHash('sha256');
      let chunks = 0;
      let max = 0;
      for await (const chunk of part.open?.() ?? []) {
        hash.update(chunk as Uint8Array);
        chunks++;
        max = Math.max(max, (chunk as Uint8Array).length);
      }
      expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      expect(max).toBe(1024 * 1024);
      expect(chunks).toBe(21);
    }
  });

  describe('unreadable files fail the read with REPRISE_SOURCE_UNREADABLE naming the path', () => {
    const cases: Array<[string, (abs: string) => Promise<void>, RegExp]> = [
      ['deleted between walk and open', (abs) => unlink(abs), /ENOENT/],
      [
        'replaced by a directory',
        async (abs) => {
          await unlink(abs);
          await mkdir(abs);
        },
        /directory/,
      ],
      [
        'replaced by a FIFO (opened without blocking)',
        async (abs) => {
          await unlink(abs);
          execFileSync('mkfifo', [abs]);
        },
        /not a regular file/,
      ],
      [
        'replaced by a symlink (never followed)',
        async (abs) => {
          await unlink(abs);
          await symlink('/etc/hostname', abs);
        },
        /ELOOP/,
      ],
      [
        'under a parent replaced by a file',
        async (abs) => {
          await rm(join(abs, '..'), { recursive: true });
          await writeFile(join(abs, '..'), 'x');
        },
        /ENOTDIR/,
      ],
    ];
    for (const [label, sabotage, detail] of cases) {
      it(label, async () => {
        const root = join(dir, `victim-${label.replace(/\W+/g, '-')}`);
        await mkdir(join(root, 'sub'), { recursive: true });
        const abs = join(root, 'sub', 'victim.txt');
        await writeFile(abs, 'will be gone');
        const err = await readAfter(filesSource(root), 'sub/victim.txt', sabotage, abs);
        expect(isRepriseError(err, 'REPRISE_SOURCE_UNREADABLE')).toBe(true);
        expect((err as Error).message).toContain(abs);
        expect((err as Error).message).toMatch(detail);
      });
    }
  });

  it('a missing root is REPRISE_SOURCE_UNREADABLE with a hint, from inspect and from dump', async () => {
    const source = filesSource(join(dir, 'no-such-dir'));
    const fromInspect = await source.inspect(new AbortController().signal).catch((e: unknown) => e);
    expect(isRepriseError(fromInspect, 'REPRISE_SOURCE_UNREADABLE')).toBe(true);
    expect((fromInspect as { hint: string }).hint).toMatch(/path/);
    const fromDump = await dumpNames(source).catch((e: unknown) => e);
    expect(isRepriseError(fromDump, 'REPRISE_SOURCE_UNREADABLE')).toBe(true);
    expect((fromDump as Error).message).toContain('no-such-dir');
  });

  it('resolves a relative path against the configuration folder', async () => {
    const source = createFilesSource('rel', { type: 'files', path: 'order/b', exclude: [], one_file_system: false }, dir);
    expect(await dumpNames(source)).toEqual(['.', 'inner', 'inner/x']);
    expect((await source.inspect(new AbortController().signal)).location).toBe(join(dir, 'order/b'));
  });

  it('inspect describes the tree', async () => {
    const root = join(dir, 'order');
    expect(await filesSource(root).inspect(new AbortController().signal)).toEqual({ kind: 'files', location: root, versions: {}, facts: {} });
  });

  it('an aborted dump stops with REPRISE_ABORTED', async () => {
    const root = join(dir, 'order');
    const controller = new AbortController();
    const seen: string[] = [];
    const err = await (async () => {
      for await (const part of filesSource(root).dump(controller.signal)) {
        seen.push(part.name);
        if (seen.length === 2) controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_ABORTED')).toBe(true);
    expect(seen).toHaveLength(2);
  });

  describe.runIf(isRoot)('one_file_system (mounts a tmpfs: needs root)', () => {
    let root: string;
    beforeAll(async () => {
      root = join(dir, 'ofs');
      await mkdir(join(root, 'mnt'), { recursive: true });
      await writeFile(join(root, 'here.txt'), 'h');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'reprise-test', join(root, 'mnt')]);
      await writeFile(join(root, 'mnt', 'other-fs.txt'), 'o');
    });
    afterAll(() => {
      if (root) execFileSync('umount', [join(root, 'mnt')]);
    });

    it('keeps the mount point but does not descend into it', async () => {
      expect(await dumpNames(filesSource(root, { one_file_system: true }))).toEqual(['.', 'here.txt', 'mnt']);
      expect(await dumpNames(filesSource(root))).toEqual(['.', 'here.txt', 'mnt', 'mnt/other-fs.txt']);
    });
  });
});
