import { lstat, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RepriseError, isRepriseError } from '../../../../src/core/errors.js';
import type { RestorePart, Source, SourceInfo } from '../../../../src/sources/source.js';
import { roundTrip, treeDigest } from '../../../helpers/source-roundtrip.js';
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

  it('an abort mid-file leaves no file under its final name and no temp file', async () => {
    const target = join(dir, 'aborted');
    const controller = new AbortController();
    let stalled = false;
    // A producer that sends 1 MiB then stalls, as a slow repository read would.
    const stallingContent = () =>
      new Readable({
        read() {
          if (stalled) return;
          stalled = true;
          this.push(Buffer.alloc(1024 * 1024, 1));
          setTimeout(() => controller.abort(), 20);
        },
      });
    const parts = list([file('done.txt', 'complete'), { name: 'dir/partial.bin', type: 'file', mode: 0o100600, content: stallingContent }, file('never.txt', 'n')]);
    const started = Date.now();
    const err = await restore(source, target, parts, { signal: controller.signal }).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_ABORTED')).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await entriesUnder(target)).toEqual(['dir', 'done.txt']);
    expect(await readFile(join(target, 'done.txt'), 'utf8')).toBe('complete');
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
    expect(await entriesUnder(target)).toEqual(['x']);
  });

  it('a file that cannot be moved into place fails the restore and its temp file is removed', async () => {
    const target = join(dir, 'clash');
    // Without force, a file over a directory of the same snapshot is a malformed snapshot.
    const parts = list([{ name: 'x', type: 'dir' }, file('x/inner', 'i'), file('x', 'clash'), file('later.txt', 'l')]);
    const err = await restore(source, target, parts).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_INTEGRITY')).toBe(true);
    expect((await entriesUnder(target)).filter((n) => n.includes('.reprise-tmp-'))).toEqual([]);
    expect(await readFile(join(target, 'x/inner'), 'utf8')).toBe('i');
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
