import { RepriseError } from '../core/errors.js';
import { listAll, mapLimit, storageFailure, type RepoContext } from './context.js';
import { PREFIX_DATA } from './format.js';
import { writeIndexFile, type PackRecord } from './index-store.js';

/** Bytes read from the end of a pack to find its header in one request (a 16 MiB pack's header is a few KiB). */
const TAIL_GUESS = 64 << 10;

/**
 * Indexes packs that are stored but listed by no index file: the data a backup uploaded before it
 * was killed. Their headers are authenticated (AEAD), so their entries can be trusted without
 * reading the blobs. Run under a shared lock: prune (exclusive) is the only other party that
 * touches unindexed packs, and it deletes them. Returns the stored bytes of the index file written
 * (0 when there was nothing to adopt). A pack whose header cannot be read is left for check and
 * prune. Throws REPRISE_STORAGE*, REPRISE_ABORTED. Idempotent.
 */
export async function adoptUnindexedPacks(ctx: RepoContext, signal?: AbortSignal): Promise<number> {
  const stored = await listAll(ctx.backend, PREFIX_DATA, signal);
  const orphans = [...stored].filter(([key]) => !ctx.index.packs.has(key.slice(key.lastIndexOf('/') + 1)));
  if (orphans.length === 0) return 0;
  const adopted = (
    await mapLimit(orphans, 4, async ([key, size]): Promise<PackRecord | undefined> => {
      const id = key.slice(key.lastIndexOf('/') + 1);
      try {
        let tail = await readTail(ctx, key, size, Math.min(size, TAIL_GUESS), signal);
        const headerLength = Buffer.from(tail.buffer, tail.byteOffset, tail.length).readUInt32LE(tail.length - 4);
        if (headerLength + 4 > tail.length && headerLength + 4 <= size) tail = await readTail(ctx, key, size, headerLength + 4, signal);
        const entries = ctx.pool.codec.readPackHeader(ctx.keys.encKey, tail);
        return typeof entries === 'string' ? undefined : { id, size, entries };
      } catch (err) {
        if (err instanceof RepriseError && err.code === 'REPRISE_ABORTED') throw err;
        signal?.throwIfAborted();
        return undefined;
      }
    })
  ).filter((p): p is PackRecord => p !== undefined);
  if (adopted.length === 0) return 0;
  const written = await writeIndexFile(ctx.backend, ctx.keys.encKey, adopted, signal);
  ctx.index.addPacks(written.id, adopted);
  return written.size;
}

async function readTail(ctx: RepoContext, key: string, size: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
  try {
    return await ctx.backend.get(key, { offset: size - length, length }, signal);
  } catch (err) {
    throw storageFailure(err, `read ${key}`);
  }
}
