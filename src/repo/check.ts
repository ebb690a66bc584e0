import type { CheckOptions, CheckReport } from './api.js';
import { listAll, mapLimit, throwIfAborted, storageFailure, type RepoContext } from './context.js';
import { PREFIX_DATA, packKey } from './format.js';
import { listKeyFiles } from './keys.js';
import { readAll } from './reader.js';
import { listSnapshotIds, readSnapshotFile } from './snapshot-store.js';
import { decodeTree } from './tree.js';

/** Packs downloaded and verified at once: one per worker plus one being read (measured best here). */
const CHECK_PACKS_IN_FLIGHT = 3;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Checks the repository: key files parse, every index names packs that exist with the right
 * size, every snapshot's part list and chunks are indexed; with `readData`, downloads packs
 * (all, or a random percentage), verifies the pack hash, the header and every blob. Packs no
 * index lists (left by an interrupted backup) are not errors. Throws only REPRISE_ABORTED and
 * storage failures of listings; everything else is reported. Idempotent.
 */
export async function checkRepository(ctx: RepoContext, options: CheckOptions = {}): Promise<CheckReport> {
  const { signal } = options;
  const errors: string[] = [];
  const damaged = new Set<string>();
  const affected = new Set<string>();
  await ctx.index.load(ctx.backend, ctx.keys.encKey, signal);

  try {
    await listKeyFiles(ctx.backend, '');
  } catch (err) {
    errors.push(`keys: ${message(err)}`);
  }

  const stored = await listAll(ctx.backend, PREFIX_DATA, signal);
  for (const pack of ctx.index.packs.values()) {
    const size = stored.get(packKey(pack.id));
    if (size === undefined) {
      errors.push(`pack ${pack.id} is listed in the index but missing from storage`);
      damaged.add(pack.id);
    } else if (size !== pack.size) {
      errors.push(`pack ${pack.id} has ${size} bytes, the index says ${pack.size}`);
      damaged.add(pack.id);
    }
  }

  // Pack ids each snapshot depends on, to name the snapshots a damaged pack affects.
  const snapshotPacks = new Map<string, Set<string>>();
  for (const id of await listSnapshotIds(ctx.backend, signal)) {
    throwIfAborted(signal);
    const packs = new Set<string>();
    snapshotPacks.set(id, packs);
    try {
      const { file } = await readSnapshotFile(ctx.backend, ctx.keys.encKey, id, signal);
      const missing = (chunk: string): boolean => {
        const loc = ctx.index.chunks.get(chunk);
        if (loc) packs.add(loc.pack);
        return !loc;
      };
      const missingTree = file.tree.chunks.filter(missing);
      if (missingTree.length > 0) throw new Error(`${missingTree.length} part-list chunks are not in the index`);
      const parts = decodeTree(await readAll(ctx, file.tree.chunks, signal));
      let absent = 0;
      for (const part of parts) for (const chunk of part.chunks) if (missing(chunk)) absent++;
      if (absent > 0) throw new Error(`${absent} chunks are not in the index`);
    } catch (err) {
      throwIfAborted(signal);
      errors.push(`snapshot ${id}: ${message(err)}`);
      affected.add(id);
    }
  }

  let packsChecked = 0;
  let bytesChecked = 0;
  if (options.readData !== undefined && options.readData !== false) {
    let packs = [...ctx.index.packs.values()].filter((p) => stored.has(packKey(p.id)));
    if (typeof options.readData === 'number') {
      const want = Math.ceil((packs.length * Math.max(0, Math.min(100, options.readData))) / 100);
      packs = packs
        .map((p) => ({ p, r: Math.random() }))
        .sort((a, b) => a.r - b.r)
        .slice(0, want)
        .map((x) => x.p);
    }
    let done = 0;
    await mapLimit(packs, CHECK_PACKS_IN_FLIGHT, async (pack) => {
      throwIfAborted(signal);
      let bytes: Uint8Array;
      try {
        bytes = await ctx.backend.get(packKey(pack.id), undefined, signal);
      } catch (err) {
        throwIfAborted(signal);
        errors.push(`pack ${pack.id}: ${storageFailure(err, 'read').message}`);
        damaged.add(pack.id);
        return;
      }
      const size = bytes.length;
      const result = await ctx.pool.verifyPack(bytes, pack.id);
      packsChecked++;
      bytesChecked += size;
      if (result.problems.length > 0) {
        damaged.add(pack.id);
        for (const problem of result.problems) errors.push(`pack ${pack.id}: ${problem}`);
      }
      options.onProgress?.(++done, packs.length);
    });
  }

  for (const [id, packs] of snapshotPacks) for (const pack of packs) if (damaged.has(pack)) affected.add(id);
  return {
    ok: errors.length === 0,
    packsChecked,
    bytesChecked,
    damagedPacks: [...damaged].sort(),
    affectedSnapshots: [...affected].sort(),
    errors,
  };
}
