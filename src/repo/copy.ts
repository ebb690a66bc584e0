import type { CopyReport } from './api.js';
import { Chunker } from './chunker.js';
import { chunkId } from './crypto.js';
import { throwIfAborted, type RepoContext } from './context.js';
import { BLOB_TYPE } from './format.js';
import { loadTree, readChunks } from './reader.js';
import { listSnapshotIds, writeSnapshotFile } from './snapshot-store.js';
import { ChunkUploader } from './uploader.js';
import { storeTree } from './writer.js';

/**
 * Copies snapshots (full ids) from `src` into `dst`. Chunk boundaries are kept (no re-chunking);
 * each chunk is decrypted with the source keys, its id recomputed with the destination MAC key,
 * uploaded only when the destination lacks it, and the part list rewritten with the new ids.
 * The snapshot keeps its id (it hashes the identity, not the repository-specific ids), so a
 * snapshot already in the destination is skipped: idempotent. Throws REPRISE_INTEGRITY,
 * REPRISE_STORAGE*, REPRISE_ABORTED; a failed copy writes no snapshot.
 */
export async function copySnapshots(src: RepoContext, dst: RepoContext, ids: readonly string[], signal?: AbortSignal): Promise<CopyReport> {
  const report: CopyReport = { snapshotsCopied: 0, snapshotsSkipped: 0, chunksUploaded: 0, bytesUploaded: 0 };
  // Both may have changed since they were opened (new snapshots in the source, a prune in the destination).
  await src.index.refresh(src.backend, src.keys.encKey, signal);
  await dst.index.refresh(dst.backend, dst.keys.encKey, signal);
  const present = new Set(await listSnapshotIds(dst.backend, signal));
  const mapped = new Map<string, string>();
  const controller = new AbortController();
  const uploadSignal = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
  for (const id of ids) {
    throwIfAborted(signal);
    if (present.has(id)) {
      report.snapshotsSkipped++;
      continue;
    }
    const { file } = await src.snapshots.read(id, signal);
    const parts = await loadTree(src, file.tree, signal);
    const uploader = new ChunkUploader(dst, uploadSignal);
    try {
      const needed = [...new Set(parts.flatMap((p) => p.chunks))].filter((c) => !mapped.has(c));
      let i = 0;
      for await (const plain of readChunks(src, needed, signal)) {
        const srcId = needed[i++] as string;
        const dstId = chunkId(dst.keys.macKey, plain);
        mapped.set(srcId, dstId);
        const owned = dst.buffers.take(plain.length, 64);
        owned.set(plain);
        await uploader.storeWithId(dstId, owned, BLOB_TYPE.data);
      }
      const rewritten = parts.map((p) => ({ ...p, chunks: p.chunks.map((c) => mapped.get(c) as string) }));
      const tree = await storeTree(uploader, dst.buffers, new Chunker(dst.gear, dst.chunker), rewritten, uploadSignal);
      await uploader.flush();
      const written = await writeSnapshotFile(dst.backend, dst.keys.encKey, { v: 1, identity: file.identity, tree, added: uploader.counters.bytesAdded }, signal);
      report.snapshotsCopied++;
      report.chunksUploaded += uploader.counters.chunksNew;
      report.bytesUploaded += uploader.counters.bytesAdded + written.size;
      present.add(id);
    } catch (err) {
      controller.abort();
      await uploader.abandon();
      throw err;
    }
  }
  return report;
}
