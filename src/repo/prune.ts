import { RepriseError } from '../core/errors.js';
import type { PruneOptions, PruneReport } from './api.js';
import { listAll, storageFailure, throwIfAborted, type RepoContext } from './context.js';
import { PACK_TARGET_SIZE, PREFIX_DATA, PREFIX_INDEX, packKey } from './format.js';
import { writeIndexFile, type PackRecord } from './index-store.js';
import { PackWriter } from './pack.js';
import { loadTree } from './reader.js';

/** Every chunk id any snapshot needs (part lists included). Throws on any unreadable snapshot: never prune on partial knowledge. */
async function usedChunks(ctx: RepoContext, signal?: AbortSignal): Promise<Set<string>> {
  const used = new Set<string>();
  for (const { file } of await ctx.snapshots.readAll(signal)) {
    for (const id of file.tree.chunks) used.add(id);
    for (const part of await loadTree(ctx, file.tree, signal)) for (const id of part.chunks) used.add(id);
  }
  return used;
}

/**
 * Removes data no snapshot references. The caller holds the exclusive lock, so no backup is
 * running (a backup holds a shared lock, and a writer whose lock was removed stops before it
 * writes its snapshot): packs no index lists are leftovers of interrupted backups and are deleted.
 * Packs without a used chunk are deleted; packs whose unused share exceeds the threshold are
 * repacked. Order: new packs, a new index listing every kept pack, then old index files, then
 * old packs, so a crash at any point leaves every used chunk indexed. Throws REPRISE_INTEGRITY
 * when a snapshot or a blob to keep cannot be read, REPRISE_STORAGE*, REPRISE_ABORTED.
 * Idempotent (a second run finds nothing to do).
 */
export async function pruneRepository(ctx: RepoContext, options: PruneOptions = {}): Promise<PruneReport> {
  const { signal } = options;
  const threshold = options.repackThreshold ?? 0.5;
  await ctx.index.load(ctx.backend, ctx.keys.encKey, signal);
  const used = await usedChunks(ctx, signal);
  const stored = await listAll(ctx.backend, PREFIX_DATA, signal);
  const indexFiles = [...ctx.index.files.keys()];

  const keep: PackRecord[] = [];
  const remove: PackRecord[] = [];
  const repack: PackRecord[] = [];
  for (const pack of ctx.index.packs.values()) {
    if (!stored.has(packKey(pack.id))) {
      keep.push(pack); // check reports it; deleting its index entry would hide the damage
      continue;
    }
    let usedBytes = 0;
    let total = 0;
    for (const e of pack.entries) {
      total += e.length;
      if (used.has(e.id) && ctx.index.chunks.get(e.id)?.pack === pack.id) usedBytes += e.length;
    }
    if (usedBytes === 0) remove.push(pack);
    else if ((total - usedBytes) / total > threshold) repack.push(pack);
    else keep.push(pack);
  }
  const indexed = new Set([...ctx.index.packs.keys()].map(packKey));
  const orphans = [...stored.keys()].filter((key) => !indexed.has(key));

  const keptChunks = new Set<string>();
  for (const p of keep) for (const e of p.entries) keptChunks.add(e.id);
  for (const p of repack) for (const e of p.entries) if (used.has(e.id) && ctx.index.chunks.get(e.id)?.pack === p.id) keptChunks.add(e.id);
  const report: PruneReport = {
    packsDeleted: remove.length + orphans.length,
    packsRepacked: repack.length,
    bytesFreed: [...remove, ...repack].reduce((s, p) => s + p.size, 0) + orphans.reduce((s, k) => s + (stored.get(k) ?? 0), 0),
    chunksRemoved: [...ctx.index.chunks.keys()].filter((id) => !keptChunks.has(id)).length,
  };
  if (options.dryRun || (remove.length === 0 && repack.length === 0 && orphans.length === 0)) return report;

  const fresh: PackRecord[] = [];
  let writer = new PackWriter();
  const closePack = async (): Promise<void> => {
    if (writer.count === 0) return;
    const finished = writer.finish(ctx.pool.codec, ctx.keys.encKey);
    writer = new PackWriter();
    try {
      await ctx.backend.put(packKey(finished.id), finished.bytes, signal ? { signal } : {});
    } catch (err) {
      throw storageFailure(err, `upload pack ${finished.id}`);
    }
    fresh.push({ id: finished.id, size: finished.bytes.length, entries: finished.entries });
    report.bytesFreed -= finished.bytes.length;
  };
  let done = 0;
  for (const pack of repack) {
    throwIfAborted(signal);
    let bytes: Uint8Array;
    try {
      bytes = await ctx.backend.get(packKey(pack.id), undefined, signal);
    } catch (err) {
      throw storageFailure(err, `read pack ${pack.id}`);
    }
    for (const e of pack.entries) {
      if (!used.has(e.id) || ctx.index.chunks.get(e.id)?.pack !== pack.id) continue;
      const blob = bytes.subarray(e.offset, e.offset + e.length);
      const plain = ctx.pool.codec.openBlob(ctx.keys.encKey, ctx.keys.macKey, blob, e.id);
      if (typeof plain === 'string') throw new RepriseError('REPRISE_INTEGRITY', `pack ${pack.id}, chunk ${e.id}: ${plain}; prune stopped before deleting anything`);
      // The sealed blob is self-contained: it moves as it is, without decrypting into the new pack.
      writer.add(e.id, e.type, blob.slice(), e.rawLength);
      if (writer.size >= PACK_TARGET_SIZE) await closePack();
    }
    options.onProgress?.(++done, repack.length);
  }
  await closePack();

  throwIfAborted(signal);
  const written = await writeIndexFile(ctx.backend, ctx.keys.encKey, [...keep, ...fresh], signal);
  report.bytesFreed -= written.size;
  try {
    for (const file of indexFiles) if (file !== written.id) await ctx.backend.delete(`${PREFIX_INDEX}${file}`);
    for (const pack of [...remove, ...repack]) await ctx.backend.delete(packKey(pack.id));
    for (const key of orphans) await ctx.backend.delete(key);
  } catch (err) {
    throw storageFailure(err, 'delete during prune');
  }
  await ctx.index.load(ctx.backend, ctx.keys.encKey, signal);
  return report;
}
