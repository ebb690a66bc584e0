import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { isRepriseError } from '../core/errors.js';
import { MemoryBackend } from '../storage/memory/index.js';
import { Repository } from './repository.js';
import { backup, initSmall, partHash, pieces, restoreHashes, sha, textLike } from '../../test/integration/repo/helpers.js';

const open: Repository[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});
function track(repo: Repository): Repository {
  open.push(repo);
  return repo;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toSatisfy((err: unknown) => isRepriseError(err) && err.code === code);
}

describe('Repository', () => {
  it('init refuses an existing repository; open rejects a wrong password and a missing repository', async () => {
    const backend = new MemoryBackend();
    track(await initSmall(backend, 'secret'));
    await expectCode(initSmall(backend, 'other'), 'REPRISE_REPO_EXISTS');
    await expectCode(Repository.open({ backend, password: 'nope' }), 'REPRISE_WRONG_PASSWORD');
    await expectCode(Repository.open({ backend: new MemoryBackend(), password: 'x' }), 'REPRISE_REPO_NOT_FOUND');
    const reopened = track(await Repository.open({ backend, password: 'secret' }));
    expect(reopened.id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects a newer format version', async () => {
    const backend = new MemoryBackend();
    track(await initSmall(backend));
    const config = backend.raw('config') as Uint8Array;
    Buffer.from(config.buffer, config.byteOffset).writeUInt32LE(99, 4);
    await expectCode(Repository.open({ backend, password: 'pw' }), 'REPRISE_REPO_FORMAT');
  });

  it('round-trips empty, one-byte, random and compressible files by checksum', async () => {
    const backend = new MemoryBackend();
    const repo = track(await initSmall(backend));
    const files = [
      { name: 'empty', data: new Uint8Array(0) },
      { name: 'one', data: Buffer.from([7]) },
      { name: 'random.bin', data: randomBytes(600_000) },
      { name: 'text.sql', data: textLike(900_000) },
    ];
    const snap = await backup(repo, files);
    expect(snap.parts).toBe(4);
    expect(snap.size).toBe(1_500_001);
    const reopened = track(await Repository.open({ backend, password: 'pw' }));
    const hashes = await restoreHashes(reopened, snap.id.slice(0, 8));
    for (const f of files) expect(hashes[f.name]).toBe(sha(f.data));
    const stats = await reopened.stats();
    // Chunks of the text may repeat (dedup), so compare what is stored with what was read.
    expect(stats.storedBytes).toBeLessThan(stats.rawBytes * 0.6);
  });

  it('round-trips through the worker threads (chunks above the inline size) and check --read-data passes', async () => {
    const backend = new MemoryBackend();
    const repo = track(await Repository.init({ backend, password: 'pw', chunker: { avgSize: 1 << 18 }, workers: 2 }));
    const files = [
      { name: 'random.bin', data: randomBytes(3_000_000) },
      { name: 'text.sql', data: textLike(3_000_000, 7) },
    ];
    const first = repo.newWriter({ signal: new AbortController().signal });
    for (const f of files) await first.addPart({ name: f.name, type: 'file' }, pieces(f.data));
    const snap = await first.commit({ source: 'test', sourceKind: 'files', tags: [], info: { kind: 'files', location: 't', versions: {}, facts: {} } });
    const firstRefs = first.stats.chunksNew + first.stats.chunksDeduped;
    const hashes = await restoreHashes(repo, snap.id);
    for (const f of files) expect(hashes[f.name]).toBe(sha(f.data));
    const report = await repo.check({ readData: true });
    expect(report.errors).toEqual([]);
    const stats = await repo.stats();
    expect(stats.rawBytes).toBe(6_000_000);
    expect(stats.uniqueBytes).toBeGreaterThan(3_000_000);

    // Mostly duplicates: ids are computed first (dedup-first mode), new chunks sealed when packed.
    const more = [...files, { name: 'new.bin', data: randomBytes(2_000_000) }];
    const writer = repo.newWriter({ signal: new AbortController().signal });
    for (const f of more) await writer.addPart({ name: f.name, type: 'file' }, pieces(f.data));
    const second = await writer.commit({ source: 'test', sourceKind: 'files', tags: [], info: { kind: 'files', location: 't', versions: {}, facts: {} } });
    // The gear table is random per repository, so chunk counts vary: compare with the first
    // backup's. Only its part list (one chunk for three entries) can differ the second time.
    expect(writer.stats.chunksDeduped).toBeGreaterThanOrEqual(firstRefs - 1);
    expect(writer.stats.chunksNew).toBeGreaterThanOrEqual(2);
    expect(second.added).toBeGreaterThan(2_000_000);
    expect(second.added).toBeLessThan(2_200_000);
    const again = await restoreHashes(repo, second.id);
    for (const f of more) expect(again[f.name]).toBe(sha(f.data));
    expect((await repo.check({ readData: true })).errors).toEqual([]);
  });

  it('deduplicates: a second identical backup adds only its snapshot and index', async () => {
    const backend = new MemoryBackend();
    const repo = track(await initSmall(backend));
    const files = [{ name: 'a', data: randomBytes(1_000_000) }];
    const first = await backup(repo, files);
    const packsBefore = [...(await collect(backend, 'data/'))].length;
    const writer = repo.newWriter({ signal: new AbortController().signal });
    await writer.addPart({ name: 'a', type: 'file' }, pieces(files[0]!.data, 4096));
    await writer.addPart({ name: 'b', type: 'file' }, pieces(files[0]!.data, 100_000));
    const second = await writer.commit({ source: 'test', sourceKind: 'files', tags: [], info: { kind: 'files', location: 't', versions: {}, facts: {} } });
    expect(writer.stats.chunksNew).toBeLessThanOrEqual(3); // only part-list chunks
    expect(writer.stats.chunksDeduped).toBeGreaterThan(50);
    expect(second.added).toBeLessThan(first.added / 50);
    expect([...(await collect(backend, 'data/'))].length).toBeLessThanOrEqual(packsBefore + 1);
  });

  it('stores no plaintext: a marker string appears in no stored object', async () => {
    const backend = new MemoryBackend();
    const repo = track(await initSmall(backend));
    const marker = 'PLAINTEXT-MARKER-7f3a9c';
    const data = Buffer.from(`${marker}\n`.repeat(20_000));
    const writer = repo.newWriter({ signal: new AbortController().signal });
    await writer.addPart({ name: `${marker}.txt`, type: 'file' }, pieces(data));
    await writer.commit({ source: marker, sourceKind: 'files', tags: [marker], info: { kind: 'files', location: marker, versions: {}, facts: {} } });
    const lock = await repo.lock('shared');
    for (const key of await collect(backend, '')) {
      const body = Buffer.from(backend.raw(key) as Uint8Array);
      expect(body.includes(marker), key).toBe(false);
      expect(body.includes(Buffer.from(marker, 'utf16le')), key).toBe(false);
    }
    await lock.release();
  });

  it('detects a flipped byte: check --read-data names pack and snapshot, readPart yields nothing bad', async () => {
    const backend = new MemoryBackend();
    const repo = track(await initSmall(backend));
    const data = randomBytes(300_000);
    const snap = await backup(repo, [{ name: 'f', data }]);
    expect((await repo.check({ readData: true })).ok).toBe(true);
    const parts = await (await repo.loadSnapshot(snap.id)).loadParts();
    const part = parts[0]!;
    const loc = repo.context.index.chunks.get(part.chunks[3]!)!;
    const packKey = `data/${loc.pack.slice(0, 2)}/${loc.pack}`;
    backend.raw(packKey)![loc.offset + 40]! ^= 0xff;

    const report = await repo.check({ readData: true });
    expect(report.ok).toBe(false);
    expect(report.damagedPacks).toEqual([loc.pack]);
    expect(report.affectedSnapshots).toEqual([snap.id]);
    expect(report.errors.join('\n')).toContain(part.chunks[3]!);

    const yielded: Uint8Array[] = [];
    let caught: unknown;
    try {
      for await (const chunk of repo.readPart(part)) yielded.push(chunk);
    } catch (err) {
      caught = err;
    }
    expect(isRepriseError(caught, 'REPRISE_INTEGRITY')).toBe(true);
    expect(String((caught as Error).message)).toContain(loc.pack);
    expect(String((caught as Error).message)).toContain(part.chunks[3]!);
    expect(yielded.length).toBe(3);
    expect(Buffer.concat(yielded).equals(data.subarray(0, Buffer.concat(yielded).length))).toBe(true);
  });

  it('structure check finds a missing pack without reading data', async () => {
    const backend = new MemoryBackend();
    const repo = track(await initSmall(backend));
    const snap = await backup(repo, [{ name: 'f', data: randomBytes(100_000) }]);
    const packs = await collect(backend, 'data/');
    await backend.delete(packs[0]!);
    const report = await repo.check();
    expect(report.ok).toBe(false);
    expect(report.affectedSnapshots).toEqual([snap.id]);
  });

  it('abort mid-backup leaves no snapshot, check passes, and a rerun dedups against indexed chunks', async () => {
    const backend = new MemoryBackend();
    const repo = track(await initSmall(backend));
    const controller = new AbortController();
    const writer = repo.newWriter({ signal: controller.signal });
    const data = randomBytes(4_000_000);
    async function* slow(): AsyncIterable<Uint8Array> {
      for await (const piece of pieces(data)) {
        yield piece;
        if (piece.byteOffset >= 2_000_000) controller.abort();
      }
    }
    await expectCode(writer.addPart({ name: 'big', type: 'file' }, slow()), 'REPRISE_ABORTED');
    await writer.abort();
    expect(await repo.listSnapshots()).toEqual([]);
    expect((await repo.check({ readData: true })).ok).toBe(true);
    const snap = await backup(repo, [{ name: 'big', data }]);
    expect((await restoreHashes(repo, snap.id)).big).toBe(sha(data));
  });

  it('keys: add, list, open with either, remove, refuse to remove the last', async () => {
    const backend = new MemoryBackend();
    const repo = track(await initSmall(backend, 'first'));
    const added = await repo.addKey('second');
    const keys = await repo.listKeys();
    expect(keys).toHaveLength(2);
    expect(keys.filter((k) => k.current)).toHaveLength(1);
    const viaSecond = track(await Repository.open({ backend, password: 'second' }));
    expect(viaSecond.id).toBe(repo.id);
    const first = keys.find((k) => k.current)!;
    await repo.removeKey(first.id);
    await expectCode(Repository.open({ backend, password: 'first' }), 'REPRISE_WRONG_PASSWORD');
    await expectCode(viaSecond.removeKey(added.id), 'REPRISE_KEY_LAST');
    await expectCode(viaSecond.removeKey('ffff'), 'REPRISE_KEY_NOT_FOUND');
  });

  it('reads a snapshot another opener wrote after this one opened (index refresh)', async () => {
    const backend = new MemoryBackend();
    const reader = track(await initSmall(backend));
    const writerSide = track(await Repository.open({ backend, password: 'pw' }));
    const data = randomBytes(200_000);
    const snap = await backup(writerSide, [{ name: 'late', data }]);
    expect((await restoreHashes(reader, snap.id)).late).toBe(sha(data));
  });

  it('snapshots: list, load by prefix, forget', async () => {
    const backend = new MemoryBackend();
    const repo = track(await initSmall(backend));
    const a = await backup(repo, [{ name: 'x', data: Buffer.from('one') }]);
    const b = await backup(repo, [{ name: 'x', data: Buffer.from('two') }]);
    expect((await repo.listSnapshots()).map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
    await expectCode(repo.loadSnapshot('zz'), 'REPRISE_SNAPSHOT_NOT_FOUND');
    await repo.forgetSnapshots([a.id]);
    await repo.forgetSnapshots([a.id]);
    expect((await repo.listSnapshots()).map((s) => s.id)).toEqual([b.id]);
    const parts = await (await repo.loadSnapshot(b.id)).loadParts();
    expect(await partHash(repo, parts[0]!)).toBe(sha(Buffer.from('two')));
  });
});

async function collect(backend: MemoryBackend, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of backend.list(prefix)) keys.push(info.key);
  return keys;
}
