import { crc32 } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isRepriseError, RepriseError } from '../../../src/core/errors.js';
import type { PartEntry } from '../../../src/repo/api.js';
import { Repository } from '../../../src/repo/repository.js';
import { LocalBackend } from '../../../src/storage/local/index.js';
import { initSmall, partHash, pieces, sha, textLike } from './helpers.js';

// Local files backed up and restored by worker threads (file jobs, file writers) must give
// exactly what the main-thread paths give, and fail the same careful way.

const dirs: string[] = [];
const repos: Repository[] = [];
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup(): Promise<{ dir: string; repo: Repository }> {
  const dir = mkdtempSync(join(tmpdir(), 'reprise-worker-files-'));
  dirs.push(dir);
  const repo = await initSmall(new LocalBackend(join(dir, 'repo')), 'pw', { workers: 2 });
  repos.push(repo);
  return { dir, repo };
}

const info = { kind: 'files', location: 'test', versions: {}, facts: {} };

/** Backs up `data` as file `name` through a file job and returns its part as the snapshot stores it. */
async function storeOne(repo: Repository, dir: string, name: string, data: Buffer): Promise<PartEntry> {
  writeFileSync(join(dir, name), data);
  const writer = repo.newWriter({ signal: new AbortController().signal });
  await writer.addLocalFile({ name, type: 'file' }, { path: join(dir, name), unreadable });
  const snap = await writer.commit({ source: 'test', sourceKind: 'files', tags: [], info });
  const [part] = await (await repo.loadSnapshot(snap.id)).loadParts();
  return part as PartEntry;
}
const unreadable = (cause: Error): Error => new RepriseError('REPRISE_SOURCE_UNREADABLE', `cannot read: ${(cause as { code?: string }).code ?? cause.message}`);

describe('file jobs and file writers in worker threads', () => {
  it('a local file read by a worker gives the same chunks and hash as the stream path, and restores byte for byte', async () => {
    const { dir, repo } = await setup();
    const files = { 'text.txt': textLike(700_000), 'random.bin': randomBytes(500_000), 'tiny.txt': Buffer.from('x'), 'empty.txt': Buffer.alloc(0) };
    for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
    const writer = repo.newWriter({ signal: new AbortController().signal });
    const viaWorker = await Promise.all(
      Object.keys(files).map((name) => writer.addLocalFile({ name: `w/${name}`, type: 'file', mode: 0o640 }, { path: join(dir, name), unreadable })),
    );
    const viaStream: PartEntry[] = [];
    for (const [name, data] of Object.entries(files)) viaStream.push(await writer.addPart({ name: `s/${name}`, type: 'file' }, pieces(data, 10_000)));
    for (let i = 0; i < viaWorker.length; i++) {
      expect(viaWorker[i]?.chunks).toEqual(viaStream[i]?.chunks);
      // The whole-content checksum is CRC-32 of the bytes, the same on both paths.
      const expected = (crc32(Object.values(files)[i] as Buffer) >>> 0).toString(16).padStart(8, '0');
      expect(viaWorker[i]?.crc32).toBe(expected);
      expect(viaStream[i]?.crc32).toBe(expected);
      expect(viaWorker[i]?.size).toBe(viaStream[i]?.size);
    }
    expect(viaWorker[0]?.chunks.length).toBeGreaterThan(5);
    const snap = await writer.commit({ source: 'test', sourceKind: 'files', tags: [], info });
    // Parts keep the order they were added in, whatever order the workers finished in.
    const parts = await (await repo.loadSnapshot(snap.id)).loadParts();
    expect(parts.map((p) => p.name)).toEqual([...Object.keys(files).map((n) => `w/${n}`), ...Object.keys(files).map((n) => `s/${n}`)]);
    const out = join(dir, 'out');
    mkdirSync(out);
    // A recorded time with microseconds that a plain `ms / 1000` would set 1 µs short.
    const mtimeMs = 1796408034480.5;
    await Promise.all(
      parts.slice(0, 4).map((part, i) => repo.writePartFile(part, { path: join(out, `f${i}`), mode: 0o640, mtimeMs })),
    );
    Object.values(files).forEach((data, i) => {
      const path = join(out, `f${i}`);
      expect(sha(readFileSync(path))).toBe(sha(data));
      expect(statSync(path).mode & 0o7777).toBe(0o640);
      // To the microsecond recorded.
      expect(statSync(path, { bigint: true }).mtimeNs / 1000n).toBe(BigInt(mtimeMs * 1000));
    });
  });

  it('the compression level of a writer applies to the files its workers read', async () => {
    const { dir } = await setup();
    // One chunk in any repository (below the default 512 KiB minimum): each repository draws its
    // own gear table, so a bigger file would be cut differently in the two and dedup differently.
    writeFileSync(join(dir, 'text.txt'), textLike(400_000));
    const stored: number[] = [];
    for (const compressionLevel of [1, 19]) {
      // A fresh repository each time: the second would otherwise dedup everything.
      const repo = await Repository.init({ backend: new LocalBackend(join(dir, `repo-${compressionLevel}`)), password: 'pw', workers: 2 });
      repos.push(repo);
      const writer = repo.newWriter({ signal: new AbortController().signal, compressionLevel });
      await writer.addLocalFile({ name: 'text.txt', type: 'file' }, { path: join(dir, 'text.txt'), unreadable });
      stored.push((await writer.commit({ source: 'test', sourceKind: 'files', tags: [], info })).added);
    }
    expect(stored[1]).toBeLessThan((stored[0] as number) * 0.97);
  });

  it('a missing file, or one replaced by a directory, fails with the source error naming it', async () => {
    const { dir, repo } = await setup();
    mkdirSync(join(dir, 'now-a-dir'));
    const writer = repo.newWriter({ signal: new AbortController().signal });
    const missing = await writer.addLocalFile({ name: 'gone', type: 'file' }, { path: join(dir, 'gone'), unreadable }).catch((e: unknown) => e);
    expect(isRepriseError(missing, 'REPRISE_SOURCE_UNREADABLE')).toBe(true);
    expect((missing as Error).message).toContain('ENOENT');
    const replaced = await writer.addLocalFile({ name: 'd', type: 'file' }, { path: join(dir, 'now-a-dir'), unreadable }).catch((e: unknown) => e);
    expect(isRepriseError(replaced, 'REPRISE_SOURCE_UNREADABLE')).toBe(true);
    expect((replaced as Error).message).toContain('replaced by a directory');
    await writer.abort();
  });

  it('small files sent to the workers in batches each get their own chunks, checksum and failure', async () => {
    const { dir, repo } = await setup();
    const datas = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? randomBytes(3000 + i) : textLike(2000 + 37 * i)));
    datas.forEach((data, i) => writeFileSync(join(dir, `f${i}`), data));
    const writer = repo.newWriter({ signal: new AbortController().signal });
    // All at once, with their sizes: they travel in batches; one in the middle is missing.
    const settled = await Promise.allSettled(
      datas.map((data, i) =>
        writer.addLocalFile({ name: `f${i}`, type: 'file', size: data.length }, { path: join(dir, i === 23 ? 'missing' : `f${i}`), unreadable }),
      ),
    );
    const failed = settled.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(failed).toEqual([23]);
    expect(isRepriseError((settled[23] as PromiseRejectedResult).reason, 'REPRISE_SOURCE_UNREADABLE')).toBe(true);
    await writer.abort();
    const again = repo.newWriter({ signal: new AbortController().signal });
    const parts = await Promise.all(datas.map((data, i) => again.addLocalFile({ name: `f${i}`, type: 'file', size: data.length }, { path: join(dir, `f${i}`), unreadable })));
    await again.commit({ source: 'test', sourceKind: 'files', tags: [], info });
    parts.forEach((part, i) => {
      const data = datas[i] as Buffer;
      expect(part.size).toBe(data.length);
      expect(part.crc32).toBe((crc32(data) >>> 0).toString(16).padStart(8, '0'));
    });
    const out = join(dir, 'out');
    mkdirSync(out);
    await Promise.all(parts.map((part, i) => repo.writePartFile(part, { path: join(out, `f${i}`), mode: 0o644 })));
    datas.forEach((data, i) => expect(sha(readFileSync(join(out, `f${i}`)))).toBe(sha(data)));
  });

  it('a damaged blob fails the restore of its file with REPRISE_INTEGRITY naming the pack, and leaves no file', async () => {
    const { dir, repo } = await setup();
    const part = await storeOne(repo, dir, 'f.bin', randomBytes(300_000));
    // Flip one byte in the middle of every pack.
    const packsDir = join(dir, 'repo', 'data');
    for (const sub of readdirSync(packsDir)) {
      for (const pack of readdirSync(join(packsDir, sub))) {
        const path = join(packsDir, sub, pack);
        const bytes = readFileSync(path);
        bytes.writeUInt8((bytes.readUInt8(Math.floor(bytes.length / 3)) ^ 0xff), Math.floor(bytes.length / 3));
        writeFileSync(path, bytes);
      }
    }
    const target = join(dir, 'restored.bin');
    const err = await repo.writePartFile(part, { path: target, mode: 0o644 }).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_INTEGRITY')).toBe(true);
    expect((err as Error).message).toMatch(/pack [0-9a-f]{64}, chunk [0-9a-f]{64}/);
    expect(existsSync(target)).toBe(false);
  });

  it('a whole-content checksum that does not match fails the restore, of the old SHA-256 kind as of the CRC-32 one', async () => {
    const { dir, repo } = await setup();
    const data = textLike(700_000);
    const part = await storeOne(repo, dir, 'f.txt', data);
    expect(part.chunks.length).toBeGreaterThan(1);
    const { crc32: recorded, ...withoutCrc } = part;
    expect(recorded).toMatch(/^[0-9a-f]{8}$/);
    // Parts written before CRC-32 record SHA-256: checked with it, both ways of restoring.
    const old: PartEntry = { ...withoutCrc, sha256: sha(data) };
    await repo.writePartFile(old, { path: join(dir, 'old.txt'), mode: 0o644 });
    expect(sha(readFileSync(join(dir, 'old.txt')))).toBe(sha(data));
    expect(await partHash(repo, old)).toBe(sha(data));
    const wrong: PartEntry[] = [
      { ...part, crc32: (parseInt(recorded as string, 16) ^ 1).toString(16).padStart(8, '0') },
      { ...withoutCrc, sha256: sha(Buffer.from('something else')) },
      // No checksum at all is refused too, never taken as "nothing to check".
      withoutCrc,
    ];
    for (const [i, bad] of wrong.entries()) {
      const target = join(dir, `bad${i}.txt`);
      const err = await repo.writePartFile(bad, { path: target, mode: 0o644 }).catch((e: unknown) => e);
      expect(isRepriseError(err, 'REPRISE_INTEGRITY'), String(err)).toBe(true);
      expect(existsSync(target)).toBe(false);
      const streamed = await partHash(repo, bad).catch((e: unknown) => e);
      expect(isRepriseError(streamed, 'REPRISE_INTEGRITY'), String(streamed)).toBe(true);
    }
  });

  it('an existing file at the path is never overwritten (the file is created exclusively)', async () => {
    const { dir, repo } = await setup();
    writeFileSync(join(dir, 'f.txt'), 'new content');
    const writer = repo.newWriter({ signal: new AbortController().signal });
    const part = await writer.addLocalFile({ name: 'f.txt', type: 'file' }, { path: join(dir, 'f.txt'), unreadable });
    await writer.commit({ source: 'test', sourceKind: 'files', tags: [], info });
    writeFileSync(join(dir, 'taken'), 'keep me');
    const err = await repo.writePartFile(part, { path: join(dir, 'taken'), mode: 0o644 }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('EEXIST');
    expect(readFileSync(join(dir, 'taken'), 'utf8')).toBe('keep me');
  });
});
