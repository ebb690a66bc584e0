import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ByteRange } from '../storage/backend.js';
import { LocalBackend } from '../storage/local/index.js';
import { MemoryBackend } from '../storage/memory/index.js';
import { Repository } from './repository.js';
import { backup, initSmall, restoreHashes, sha } from '../../test/integration/repo/helpers.js';

/** A memory backend that counts the snapshot and index files it is asked for, as a remote one would serve them. */
class CountingBackend extends MemoryBackend {
  snapshotGets = 0;
  indexGets = 0;
  override async get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    if (key.startsWith('snapshots/')) this.snapshotGets++;
    if (key.startsWith('index/')) this.indexGets++;
    return super.get(key, range, signal);
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'reprise-snapcache-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function openRepo(backend: MemoryBackend | LocalBackend, cacheDir?: string): Promise<Repository> {
  const repo = await Repository.open({ backend, password: 'pw', cacheDir });
  cleanups.push(() => repo.close());
  return repo;
}

/** A repository holding `n` snapshots, written without a cache. */
async function withSnapshots(n: number): Promise<{ backend: CountingBackend; ids: string[] }> {
  const backend = new CountingBackend();
  const repo = await initSmall(backend);
  cleanups.push(() => repo.close());
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await backup(repo, [{ name: 'f', data: Buffer.from(`version ${i}`) }])).id);
  return { backend, ids };
}

// Listing order is by time, then id: snapshots made within one millisecond may come in either
// order, so ids are compared as sets.
function cachedFiles(root: string, repo: Repository, folder: 'snapshots' | 'index' = 'snapshots'): string[] {
  const dir = path.join(root, repo.id, folder);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

describe('snapshot and index files are read once', () => {
  it('within one open repository: listing then loading the newest (a backup finding its parent) reads each file once', async () => {
    const { backend, ids } = await withSnapshots(3);
    const repo = await openRepo(backend);
    backend.snapshotGets = 0;
    const listed = await repo.listSnapshots();
    expect(listed.map((s) => s.id).sort()).toEqual([...ids].sort());
    await (await repo.loadSnapshot(ids[2] as string)).loadParts();
    expect(backend.snapshotGets).toBe(3);
  });

  it('across processes with a cache folder: the next open reads them from disk, with the same summaries', async () => {
    const { backend, ids } = await withSnapshots(4);
    const root = tempDir();
    const indexKeys = [...backend.keys('index/')].sort();
    expect(indexKeys.length).toBeGreaterThanOrEqual(4);
    backend.indexGets = 0;
    const first = await openRepo(backend, root);
    expect(backend.indexGets).toBe(indexKeys.length);
    backend.snapshotGets = 0;
    const listed = await first.listSnapshots();
    expect(backend.snapshotGets).toBe(4);
    expect(cachedFiles(root, first)).toEqual([...ids].sort());
    expect(cachedFiles(root, first, 'index').map((id) => `index/${id}`)).toEqual(indexKeys);
    // Sealed as stored: the cache holds the repository's bytes, nothing in clear.
    for (const id of ids) expect(readFileSync(path.join(root, first.id, 'snapshots', id))).toEqual(Buffer.from(backend.raw(`snapshots/${id}`) as Uint8Array));
    expect(readFileSync(path.join(root, 'CACHEDIR.TAG'), 'utf8')).toMatch(/^Signature: 8a477f597d28d172789f06886806bc55/);

    backend.indexGets = 0;
    const second = await openRepo(backend, root);
    backend.snapshotGets = 0;
    expect(await second.listSnapshots()).toEqual(listed);
    const hashes = await restoreHashes(second, ids[3] as string);
    expect(hashes.f).toBe(sha(Buffer.from('version 3')));
    expect(backend.snapshotGets).toBe(0);
    expect(backend.indexGets).toBe(0);
  });

  it('a damaged or foreign cache entry is a miss: fetched again, verified, and replaced', async () => {
    const { backend, ids } = await withSnapshots(2);
    const root = tempDir();
    const first = await openRepo(backend, root);
    await first.listSnapshots();
    const dir = path.join(root, first.id, 'snapshots');
    const [a, b] = ids as [string, string];
    const damaged = readFileSync(path.join(dir, a));
    damaged.writeUInt8(damaged.readUInt8(damaged.length - 5) ^ 0x40, damaged.length - 5);
    writeFileSync(path.join(dir, a), damaged);
    // b's entry replaced by a's file: it decrypts, but is not snapshot b.
    writeFileSync(path.join(dir, b), backend.raw(`snapshots/${a}`) as Uint8Array);

    const second = await openRepo(backend, root);
    backend.snapshotGets = 0;
    expect((await second.listSnapshots()).map((s) => s.id).sort()).toEqual([...ids].sort());
    expect(backend.snapshotGets).toBe(2);
    for (const id of ids) expect(readFileSync(path.join(dir, id))).toEqual(Buffer.from(backend.raw(`snapshots/${id}`) as Uint8Array));
  });

  it('an index entry holding another index file, or cut short, is a miss; pruned index files leave the cache', async () => {
    const { backend, ids } = await withSnapshots(3);
    const root = tempDir();
    const first = await openRepo(backend, root);
    const [x, y] = cachedFiles(root, first, 'index') as [string, string];
    const dir = path.join(root, first.id, 'index');
    // Both decrypt with this repository's key, but y's entry is not y.
    writeFileSync(path.join(dir, y), readFileSync(path.join(dir, x)));
    writeFileSync(path.join(dir, x), readFileSync(path.join(dir, x)).subarray(0, 100));
    backend.indexGets = 0;
    const second = await openRepo(backend, root);
    expect(backend.indexGets).toBe(2);
    for (const id of [x, y]) expect(readFileSync(path.join(dir, id))).toEqual(Buffer.from(backend.raw(`index/${id}`) as Uint8Array));
    expect((await restoreHashes(second, ids[2] as string)).f).toBe(sha(Buffer.from('version 2')));

    await second.forgetSnapshots([ids[0] as string]);
    const lock = await second.lock('exclusive');
    await second.prune();
    await lock.release();
    expect(backend.keys('index/')).not.toContain(`index/${x}`);
    const third = await openRepo(backend, root);
    expect(cachedFiles(root, third, 'index').map((id) => `index/${id}`)).toEqual([...backend.keys('index/')].sort());
  });

  it('forgotten snapshots leave the cache: by this process at once, by another at the next listing', async () => {
    const { backend, ids } = await withSnapshots(3);
    const root = tempDir();
    const [a, b, c] = ids as [string, string, string];
    const mine = await openRepo(backend, root);
    await mine.listSnapshots();
    await mine.forgetSnapshots([a]);
    expect(cachedFiles(root, mine)).toEqual([b, c].sort());
    await expect(mine.loadSnapshot(a)).rejects.toMatchObject({ code: 'REPRISE_SNAPSHOT_NOT_FOUND' });

    const other = await openRepo(backend);
    await other.forgetSnapshots([b]);
    writeFileSync(path.join(root, mine.id, 'snapshots', `${c}.4242.x.tmp`), 'a writer that died');
    expect((await mine.listSnapshots()).map((s) => s.id)).toEqual([c]);
    expect(cachedFiles(root, mine)).toEqual([c]);
  });

  it('check reads index and snapshot files from storage: damage there is found though the cache is intact', async () => {
    const { backend, ids } = await withSnapshots(2);
    const root = tempDir();
    await (await openRepo(backend, root)).listSnapshots();
    const [indexKey] = backend.keys('index/') as [string];
    const stored = backend.raw(indexKey) as Uint8Array;
    stored.set([(stored[stored.length - 3] as number) ^ 0x01], stored.length - 3);
    const snapshot = backend.raw(`snapshots/${ids[1]}`) as Uint8Array;
    snapshot[snapshot.length - 3] = (snapshot[snapshot.length - 3] as number) ^ 0x01;
    // Every other command goes on from the cache…
    const repo = await openRepo(backend, root);
    expect((await repo.listSnapshots()).map((s) => s.id).sort()).toEqual([...ids].sort());
    // …but check does not.
    await expect(repo.check()).rejects.toMatchObject({ code: 'REPRISE_INTEGRITY', message: expect.stringContaining(indexKey) });
    stored.set([(stored[stored.length - 3] as number) ^ 0x01], stored.length - 3);
    const report = await repo.check();
    expect(report.errors).toEqual([expect.stringContaining(`snapshot ${ids[1]}`)]);
  });

  it('a local repository is not cached (its files are already on disk)', async () => {
    const root = tempDir();
    const backend = new LocalBackend(path.join(tempDir(), 'repo'));
    const repo = await initSmall(backend);
    cleanups.push(() => repo.close());
    await backup(repo, [{ name: 'f', data: Buffer.from('x') }]);
    const reopened = await openRepo(backend, root);
    expect(await reopened.listSnapshots()).toHaveLength(1);
    expect(readdirSync(root)).toEqual([]);
  });

  it('a cache folder that cannot be made changes nothing but speed', async () => {
    const { backend, ids } = await withSnapshots(2);
    const blocker = path.join(tempDir(), 'a-file');
    writeFileSync(blocker, 'not a folder');
    const repo = await openRepo(backend, path.join(blocker, 'cache'));
    expect((await repo.listSnapshots()).map((s) => s.id).sort()).toEqual([...ids].sort());
    await (await repo.loadSnapshot(ids[1] as string)).loadParts();
  });
});
