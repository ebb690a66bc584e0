import { lstat, mkdir, readFile, readdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RepriseError, isRepriseError } from '../../../../src/core/errors.js';
import type { RestorePart, Source, SourceInfo } from '../../../../src/sources/source.js';
import { roundTrip, treeDigest } from '../../../helpers/source-roundtrip.js';
import { STAGE_PREFIX, TEMP_PREFIX } from '../../../../src/sources/files/restore-tree.js';
import { filesSource, makeTempDir, removeDir } from './fixture.js';

const info: SourceInfo = { kind: 'files', location: '/x', versions: {}, facts: {} };

async function* list(parts: RestorePart[]): AsyncGenerator<RestorePart> {
  yield* parts;
}

function file(name: string, text: string): RestorePart {
  return { name, type: 'file', mode: 0o100644, content: () => Readable.from([Buffer.from(text)]) };
}

async function restore(source: Source, target: string, parts: AsyncIterable<RestorePart>, opts: { force?: boolean; signal?: AbortSignal } = {}) {
  return source.restore(parts, { target, force: opts.force ?? false, info, signal: opts.signal ?? new AbortController().signal });
}

async function entriesUnder(path: string): Promise<string[]> {
  return (await readdir(path, { recursive: true })).map(String).sort();
}

describe('files source restore', () => {
  let dir: string;
  let src: string;
  let source: Source;
  beforeAll(async () => {
    dir = await makeTempDir('restore');
    src = join(dir, 'src');
    await mkdir(join(src, 'docs'), { recursive: true });
    await writeFile(join(src, 'docs/a.txt'), 'from the snapshot');
    await writeFile(join(src, 'b.txt'), 'b from the snapshot');
    source = filesSource(src);
  });
  afterAll(() => removeDir(dir));

  it('probeTarget: a missing or empty dir is empty, a dir with an entry or a file is not', async () => {
    const signal = new AbortController().signal;
    await mkdir(join(dir, 'probe-empty'));
    expect(await source.probeTarget(join(dir, 'probe-missing'), signal)).toEqual({ exists: false, empty: true, location: join(dir, 'probe-missing') });
    expect(await source.probeTarget(join(dir, 'probe-empty'), signal)).toMatchObject({ exists: true, empty: true });
    expect(await source.probeTarget(src, signal)).toMatchObject({ exists: true, empty: false });
    expect(await source.probeTarget(join(src, 'b.txt'), signal)).toMatchObject({ exists: true, empty: false });
  });

  it('refuses a non-empty target without force and leaves it untouched', async () => {
    const target = join(dir, 'busy');
    await mkdir(target);
    await writeFile(join(target, 'b.txt'), 'live data');
    const err = await roundTrip(source, target).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_TARGET_NOT_EMPTY')).toBe(true);
    expect(await entriesUnder(target)).toEqual(['b.txt']);
    expect(await readFile(join(target, 'b.txt'), 'utf8')).toBe('live data');
  });

  it('with force, replaces same-named entries (a directory in the way too) and keeps the others', async () => {
    const target = join(dir, 'forced');
    await mkdir(join(target, 'b.txt'), { recursive: true });
    await writeFile(join(target, 'b.txt/in-the-way'), 'x');
    await mkdir(join(target, 'docs'));
    await writeFile(join(target, 'docs/a.txt'), 'old');
    await writeFile(join(target, 'unrelated.txt'), 'stays');
    await roundTrip(source, target, { force: true });
    expect(await readFile(join(target, 'b.txt'), 'utf8')).toBe('b from the snapshot');
    expect(await readFile(join(target, 'docs/a.txt'), 'utf8')).toBe('from the snapshot');
    expect(await readFile(join(target, 'unrelated.txt'), 'utf8')).toBe('stays');
    expect(await entriesUnder(target)).toEqual(['b.txt', 'docs', 'docs/a.txt', 'unrelated.txt']);
  });

  it('a target that is a link to a directory is restored into that directory', async () => {
    await mkdir(join(dir, 'real-target'));
    await symlink(join(dir, 'real-target'), join(dir, 'link-to-target'));
    expect(await source.probeTarget(join(dir, 'link-to-target'), new AbortController().signal)).toMatchObject({ exists: true, empty: true });
    await roundTrip(source, join(dir, 'link-to-target'));
    expect(await readFile(join(dir, 'real-target/docs/a.txt'), 'utf8')).toBe('from the snapshot');
  });

  it('a target that is a file is refused, with or without force', async () => {
    const err = await roundTrip(source, join(src, 'b.txt')).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_TARGET_NOT_EMPTY')).toBe(true);
    const forced = await roundTrip(source, join(src, 'b.txt'), { force: true }).catch((e: unknown) => e);
    expect(isRepriseError(forced, 'REPRISE_TARGET_UNREACHABLE')).toBe(true);
  });

  /** A stream of 1 MiB that then stalls, as a slow repository read would, and aborts `controller` 20 ms later. */
  function stallingFile(name: string, controller: AbortController): RestorePart {
    let stalled = false;
    const content = () =>
      new Readable({
        read() {
          if (stalled) return;
          stalled = true;
          this.push(Buffer.alloc(1024 * 1024, 1));
          setTimeout(() => controller.abort(), 20);
        },
      });
    return { name, type: 'file', mode: 0o100600, content };
  }

  it('an abort mid-file into an empty target leaves it empty: the tree was written into a stage inside it', async () => {
    const target = join(dir, 'aborted');
    const controller = new AbortController();
    const parts = list([file('done.txt', 'complete'), stallingFile('dir/partial.bin', controller), file('never.txt', 'n')]);
    const started = Date.now();
    const err = await restore(source, target, parts, { signal: controller.signal }).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_ABORTED')).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await entriesUnder(target)).toEqual([]);
  });

  it('an abort mid-file with force leaves the finished files under their names, no temp file, and the rest as it was', async () => {
    const target = join(dir, 'aborted-forced');
    await mkdir(target);
    await writeFile(join(target, 'keep.txt'), 'kept');
    const controller = new AbortController();
    const parts = list([file('done.txt', 'complete'), stallingFile('dir/partial.bin', controller), file('never.txt', 'n')]);
    const err = await restore(source, target, parts, { force: true, signal: controller.signal }).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_ABORTED')).toBe(true);
    expect(await entriesUnder(target)).toEqual(['dir', 'done.txt', 'keep.txt']);
    expect(await readFile(join(target, 'done.txt'), 'utf8')).toBe('complete');
  });

  it('the stage is named as documented and gone once the restore is done', async () => {
    const target = join(dir, 'staged');
    const seen: string[] = [];
    async function* parts(): AsyncGenerator<RestorePart> {
      yield file('a.txt', 'a');
      seen.push(...(await readdir(target)));
      yield file('b/c.txt', 'c');
    }
    await restore(source, target, parts());
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(new RegExp(`^${STAGE_PREFIX.replaceAll('.', '\\.')}[0-9a-f]{12}$`));
    expect(await entriesUnder(target)).toEqual(['a.txt', 'b', 'b/c.txt']);
  });

  it('a forced restore removes the stage a killed restore left, and nothing else', async () => {
    const target = join(dir, 'stale-stage');
    await mkdir(join(target, `${STAGE_PREFIX}0123456789ab`, 'half'), { recursive: true });
    await writeFile(join(target, `${STAGE_PREFIX}0123456789ab`, 'half', 'written.bin'), 'partial');
    await writeFile(join(target, 'mine.txt'), 'mine');
    await restore(source, target, list([file('a.txt', 'a')]), { force: true });
    expect(await entriesUnder(target)).toEqual(['a.txt', 'mine.txt']);
  });

  it('a forced restore removes the temp files a killed forced restore left in the folders it writes, and nothing else', async () => {
    const target = join(dir, 'stale-temps');
    await mkdir(join(target, 'docs'), { recursive: true });
    await mkdir(join(target, 'untouched'), { recursive: true });
    await writeFile(join(target, `${TEMP_PREFIX}0123456789ab-0`), 'half a file');
    await writeFile(join(target, 'docs', `${TEMP_PREFIX}0123456789ab-1`), 'half another');
    await writeFile(join(target, 'untouched', `${TEMP_PREFIX}0123456789ab-2`), 'not in a folder of the snapshot');
    await writeFile(join(target, 'docs', 'mine.txt'), 'mine');
    await restore(source, target, list([file('a.txt', 'a'), file('docs/b.txt', 'b')]), { force: true });
    expect(await entriesUnder(target)).toEqual(['a.txt', 'docs', 'docs/b.txt', 'docs/mine.txt', 'untouched', `untouched/${TEMP_PREFIX}0123456789ab-2`]);
  });

  it('an abort seen between chunks of a plain async iterable also cleans up', async () => {
    const target = join(dir, 'aborted-iterable');
    const controller = new AbortController();
    async function* content(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('first half ');
      controller.abort();
      yield Buffer.from('second half');
    }
    const err = await restore(source, target, list([{ name: 'f.txt', type: 'file', content }]), { signal: controller.signal }).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_ABORTED')).toBe(true);
    expect(await entriesUnder(target)).toEqual([]);
  });

  it('a content stream that fails (damaged data) leaves nothing under the final name', async () => {
    const target = join(dir, 'damaged');
    async function* content(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('good bytes');
      throw new RepriseError('REPRISE_INTEGRITY', 'chunk 00ff failed verification');
    }
    const err = await restore(source, target, list([{ name: 'x/y.bin', type: 'file', content }])).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_INTEGRITY')).toBe(true);
    expect(await entriesUnder(target)).toEqual([]);
  });

  it('a snapshot that holds a name twice is refused, and nothing of it is left; with force the later entry wins', async () => {
    const target = join(dir, 'clash');
    const parts = () => list([{ name: 'x', type: 'dir' }, file('x/inner', 'i'), file('x', 'clash'), file('later.txt', 'l'), { name: 'l', type: 'symlink', linkTarget: 'a' }, { name: 'l', type: 'symlink', linkTarget: 'b' }]);
    const err = await restore(source, target, parts()).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_INTEGRITY')).toBe(true);
    expect((err as Error).message).toContain('"x"');
    expect(await entriesUnder(target)).toEqual([]);
    await restore(source, target, parts(), { force: true });
    expect(await entriesUnder(target)).toEqual(['l', 'later.txt', 'x']);
    expect(await readFile(join(target, 'x'), 'utf8')).toBe('clash');
    expect((await lstat(join(target, 'l'))).isSymbolicLink()).toBe(true);
  });

  it('files written by a worker (writeFile) land in the stage under their own names; a name twice is refused, or replaced with force', async () => {
    const written: Array<{ path: string; renameTo?: string }> = [];
    // What the engine's writeFile does, minus the repository: create the file exclusively, fill it.
    const byWorker = (name: string, text: string): RestorePart => ({
      name,
      type: 'file',
      size: text.length,
      writeFile: async (target) => {
        written.push({ path: target.path, ...(target.renameTo ? { renameTo: target.renameTo } : {}) });
        await writeFile(target.path, text, { flag: 'wx' });
        if (target.renameTo) await rename(target.path, target.renameTo);
        return text.length;
      },
    });
    const target = join(dir, 'by-worker');
    const parts = () => list([byWorker('w/a.txt', 'first'), byWorker('w/a.txt', 'second')]);
    const err = await restore(source, target, parts()).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_INTEGRITY')).toBe(true);
    expect(await entriesUnder(target)).toEqual([]);
    expect(written[0]!.path).toContain(`/${STAGE_PREFIX}`);
    expect(written[0]!.path.endsWith('/w/a.txt')).toBe(true);
    expect(written[0]!.renameTo).toBeUndefined();
    await restore(source, target, parts(), { force: true });
    expect(await readFile(join(target, 'w/a.txt'), 'utf8')).toBe('second');
    // Into a non-empty target: a temp name, renamed over the final one.
    written.length = 0;
    await restore(source, target, list([byWorker('w/a.txt', 'third')]), { force: true });
    expect(written).toEqual([{ path: expect.stringContaining(`/w/${TEMP_PREFIX}`) as unknown as string, renameTo: join(target, 'w/a.txt') }]);
    expect(await readFile(join(target, 'w/a.txt'), 'utf8')).toBe('third');
  });

  it('into a non-empty target, files go through temp names: a directory of the snapshot in the way is replaced with force, no temp file left', async () => {
    const target = join(dir, 'clash-forced');
    await mkdir(join(target, 'x'), { recursive: true });
    await writeFile(join(target, 'x', 'inner'), 'old');
    // With force the directory in the way is replaced; without a stage, the snapshot's own clash shows at the rename.
    const parts = list([{ name: 'y', type: 'dir' }, file('y/inner', 'i'), file('y', 'clash'), file('later.txt', 'l')]);
    await restore(source, target, parts, { force: true });
    expect((await entriesUnder(target)).filter((n) => n.includes(TEMP_PREFIX))).toEqual([]);
    expect(await readFile(join(target, 'y'), 'utf8')).toBe('clash');
  });

  it('rejects part names that would escape the target', async () => {
    for (const name of ['../escape.txt', '/tmp/escape-abs.txt', 'ok/../../escape.txt']) {
      const target = join(dir, 'escape-target');
      const err = await restore(source, target, list([file(name, 'evil')]), { force: true }).catch((e: unknown) => e);
      expect(isRepriseError(err, 'REPRISE_INTEGRITY'), name).toBe(true);
    }
    expect(await entriesUnder(dir)).not.toContain('escape.txt');
    expect(await lstat('/tmp/escape-abs.txt').catch(() => undefined)).toBeUndefined();
  });

  it('never writes through a symlink from the snapshot', async () => {
    const outside = join(dir, 'outside');
    await mkdir(outside);
    const evil = (): AsyncGenerator<RestorePart> =>
      list([
        { name: 'link', type: 'symlink', linkTarget: outside },
        file('link/pwned.txt', 'evil'),
      ]);
    const err = await restore(source, join(dir, 'link-target'), evil()).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_INTEGRITY')).toBe(true);
    // With force the link is replaced by a real directory, still inside the target.
    await restore(source, join(dir, 'link-target'), evil(), { force: true });
    expect(await readdir(outside)).toEqual([]);
    expect((await lstat(join(dir, 'link-target/link'))).isDirectory()).toBe(true);
  });

  it('gives the same tree whatever the order of the parts (the source restores in any order)', async () => {
    expect(source.restoresInAnyOrder).toBe(true);
    const t = Date.UTC(2021, 5, 1);
    const parts = (): RestorePart[] => [
      { name: '.', type: 'dir', mode: 0o40755, mtimeMs: t },
      { name: 'a', type: 'dir', mode: 0o40700, mtimeMs: t + 1000 },
      { name: 'a/b', type: 'dir', mode: 0o40750, mtimeMs: t + 2000 },
      { ...file('a/b/c.txt', 'c'), mtimeMs: t + 3000 },
      { ...file('a/d.txt', 'd'), mtimeMs: t + 4000 },
      { name: 'a/link', type: 'symlink', linkTarget: 'd.txt', mtimeMs: t + 5000 },
      { ...file('e.txt', 'e'), mtimeMs: t + 6000 },
    ];
    await restore(source, join(dir, 'in-order'), list(parts()));
    await restore(source, join(dir, 'reversed'), list(parts().reverse()));
    expect(await treeDigest(join(dir, 'reversed'))).toEqual(await treeDigest(join(dir, 'in-order')));
  });

  it('applies directory mtimes after their content, and the root metadata from "."', async () => {
    const target = join(dir, 'dir-times');
    const t = Date.UTC(2020, 0, 1);
    const parts = list([
      { name: '.', type: 'dir', mode: 0o40750, mtimeMs: t },
      { name: 'd', type: 'dir', mode: 0o40700, mtimeMs: t + 1000 },
      { name: 'd/e', type: 'dir', mode: 0o40755, mtimeMs: t + 2000 },
      file('d/e/f.txt', 'f'),
      file('d/g.txt', 'g'),
    ]);
    await restore(source, target, parts);
    const digest = await treeDigest(target);
    expect(digest.filter((e) => e.type === 'dir').map((e) => [e.path, e.mode, e.mtimeMs])).toEqual([
      ['.', 0o750, t],
      ['d', 0o700, t + 1000],
      ['d/e', 0o755, t + 2000],
    ]);
  });
});
