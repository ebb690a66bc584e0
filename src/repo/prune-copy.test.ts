import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../storage/memory/index.js';
import { Repository } from './repository.js';
import { backup, initSmall, restoreHashes, sha } from '../../test/integration/repo/helpers.js';

const open: Repository[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

async function storedBytes(backend: MemoryBackend, prefix: string): Promise<number> {
  let total = 0;
  for await (const info of backend.list(prefix)) total += info.size;
  return total;
}

describe('prune', () => {
  it('keeps everything still referenced (restore by checksum) and frees the rest', async () => {
    const backend = new MemoryBackend();
    const repo = await initSmall(backend);
    open.push(repo);
    const shared = randomBytes(400_000);
    const onlyOld = randomBytes(3_000_000);
    const onlyNew = randomBytes(200_000);
    const old = await backup(repo, [
      { name: 'shared', data: shared },
      { name: 'old', data: onlyOld },
    ]);
    const kept = await backup(repo, [
      { name: 'shared', data: shared },
      { name: 'new', data: onlyNew },
    ]);
    // An orphan pack, as a crashed backup leaves it.
    await backend.put('data/ab/ab' + '0'.repeat(62), randomBytes(1000));
    const before = await storedBytes(backend, 'data/');

    const lock = await repo.lock('exclusive');
    await repo.forgetSnapshots([old.id]);
    const dry = await repo.prune({ dryRun: true });
    expect(await storedBytes(backend, 'data/')).toBe(before);
    const report = await repo.prune({ repackThreshold: 0.2 });
    await lock.release();
    expect(report.packsDeleted).toBe(dry.packsDeleted);
    expect(report.packsDeleted + report.packsRepacked).toBeGreaterThan(0);
    expect(report.chunksRemoved).toBeGreaterThan(100);
    const after = await storedBytes(backend, 'data/');
    expect(after).toBeLessThan(before - 2_900_000);
    expect(before - after).toBeLessThanOrEqual(report.bytesFreed + 10_000);

    const reopened = await Repository.open({ backend, password: 'pw' });
    open.push(reopened);
    expect(await restoreHashes(reopened, kept.id)).toEqual({ shared: sha(shared), new: sha(onlyNew) });
    expect((await reopened.check({ readData: true })).ok).toBe(true);
    const again = await reopened.prune();
    expect(again.packsDeleted + again.packsRepacked).toBe(0);
  });

  it('a writer opened before a prune does not dedup against the chunks that prune removed', async () => {
    const backend = new MemoryBackend();
    const daemon = await initSmall(backend);
    const pruner = await Repository.open({ backend, password: 'pw' });
    open.push(daemon, pruner);
    const data = randomBytes(300_000);
    const old = await backup(pruner, [{ name: 'f', data }]);
    await daemon.context.index.load(backend, daemon.context.keys.encKey); // the daemon knows those chunks
    await pruner.forgetSnapshots([old.id]);
    await pruner.prune();
    const again = await backup(daemon, [{ name: 'f', data }]);
    expect(await restoreHashes(pruner, again.id)).toEqual({ f: sha(data) });
    expect((await pruner.check({ readData: true })).ok).toBe(true);
  });
});

describe('reusePart', () => {
  it('refuses to commit a part whose reused chunks were pruned meanwhile, and writes no snapshot', async () => {
    const backend = new MemoryBackend();
    const repo = await initSmall(backend);
    open.push(repo);
    const parent = await backup(repo, [{ name: 'f', data: randomBytes(100_000) }]);
    const [previous] = await (await repo.loadSnapshot(parent.id)).loadParts();
    await repo.forgetSnapshots([parent.id]);
    await repo.prune();
    const writer = repo.newWriter({ signal: new AbortController().signal });
    writer.reusePart({ name: 'f', type: 'file' }, previous!);
    await expect(
      writer.commit({ source: 't', sourceKind: 'files', tags: [], info: { kind: 'files', location: 't', versions: {}, facts: {} } }),
    ).rejects.toMatchObject({ code: 'REPRISE_INTEGRITY' });
    expect(await repo.listSnapshots()).toEqual([]);
  });
});

describe('copy', () => {
  it('copies snapshots with re-keyed chunk ids, restores from the copy by checksum, and is idempotent', async () => {
    const src = await initSmall(new MemoryBackend('src'), 'one');
    const dstBackend = new MemoryBackend('dst');
    const dst = await initSmall(dstBackend, 'two');
    open.push(src, dst);
    const a = randomBytes(500_000);
    const b = randomBytes(300_000);
    const s1 = await backup(src, [{ name: 'a', data: a }]);
    const s2 = await backup(src, [
      { name: 'a', data: a },
      { name: 'b', data: b },
    ]);
    const first = await src.copySnapshots(dst, [s1.id]);
    expect(first).toMatchObject({ snapshotsCopied: 1, snapshotsSkipped: 0 });
    const second = await src.copySnapshots(dst, []);
    expect(second.snapshotsCopied).toBe(1);
    expect(second.snapshotsSkipped).toBe(1);
    // Only b's chunks (and a part list) were new for the second snapshot.
    expect(second.bytesUploaded).toBeLessThan(first.bytesUploaded);
    expect(await src.copySnapshots(dst, [])).toMatchObject({ snapshotsCopied: 0, snapshotsSkipped: 2 });

    const viaDst = await Repository.open({ backend: dstBackend, password: 'two' });
    open.push(viaDst);
    expect((await viaDst.listSnapshots()).map((s) => s.id).sort()).toEqual([s1.id, s2.id].sort());
    expect(await restoreHashes(viaDst, s2.id)).toEqual({ a: sha(a), b: sha(b) });
    const srcParts = await (await src.loadSnapshot(s1.id)).loadParts();
    const dstParts = await (await viaDst.loadSnapshot(s1.id)).loadParts();
    expect(dstParts[0]!.chunks).toHaveLength(srcParts[0]!.chunks.length);
    expect(dstParts[0]!.chunks[0]).not.toBe(srcParts[0]!.chunks[0]);
    expect((await viaDst.check({ readData: true })).ok).toBe(true);
  });
});
