import { RepriseError } from '../core/errors.js';
import type { PartEntry } from './api.js';
import { checksumOf, checksums } from './content-checksum.js';
import { storageFailure, throwIfAborted, type RepoContext } from './context.js';
import { packKey } from './format.js';
import type { FileToWrite, WriteFailure, WritePiece } from './file-writer.js';
import type { ChunkLocation } from './index-store.js';
import type { TreeRef } from './snapshot-store.js';
import { decodeTree } from './tree.js';

/** One ranged read covering adjacent blobs of one pack. */
interface ReadGroup {
  pack: string;
  offset: number;
  length: number;
  blobs: { id: string; at: number; length: number; rawLength: number }[];
}

/** A ranged read may cover several adjacent blobs, up to this many bytes. */
const GROUP_MAX = 8 << 20;
/** Raw bytes fetched and being opened ahead of the consumer. */
const READ_AHEAD = 16 << 20;
/** Blobs smaller than this are opened on the main thread. */
const INLINE_OPEN_BELOW = 64 << 10;

function locate(ctx: RepoContext, id: string): ChunkLocation {
  const loc = ctx.index.chunks.get(id);
  if (!loc) throw new RepriseError('REPRISE_INTEGRITY', `chunk ${id} is not in the index (pack missing or never written)`);
  return loc;
}

function planGroups(ctx: RepoContext, ids: readonly string[]): ReadGroup[] {
  const groups: ReadGroup[] = [];
  let current: ReadGroup | undefined;
  for (const id of ids) {
    const loc = locate(ctx, id);
    if (current && current.pack === loc.pack && current.offset + current.length === loc.offset && current.length + loc.length <= GROUP_MAX) {
      current.blobs.push({ id, at: current.length, length: loc.length, rawLength: loc.rawLength });
      current.length += loc.length;
    } else {
      current = { pack: loc.pack, offset: loc.offset, length: loc.length, blobs: [{ id, at: 0, length: loc.length, rawLength: loc.rawLength }] };
      groups.push(current);
    }
  }
  return groups;
}

/**
 * Yields the plaintext of each chunk of `ids`, in order, each verified (authenticated decryption
 * and HMAC id) before it is yielded. Adjacent blobs of a pack are fetched in one ranged read;
 * reads and decryption run ahead of the consumer within a bounded window. Throws
 * REPRISE_INTEGRITY naming the pack and chunk, REPRISE_STORAGE*, REPRISE_ABORTED. Idempotent.
 */
export async function* readChunks(ctx: RepoContext, ids: readonly string[], signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const groups = planGroups(ctx, ids);
  const queue: { id: string; pack: string; rawLength: number; plain: Promise<Uint8Array | string> }[] = [];
  let next = 0;
  let ahead = 0;
  const pump = (): void => {
    while (next < groups.length && (ahead < READ_AHEAD || queue.length === 0)) {
      const group = groups[next++] as ReadGroup;
      const bytes = ctx.backend.get(packKey(group.pack), { offset: group.offset, length: group.length }, signal).catch((err: unknown) => {
        throw storageFailure(err, `read pack ${group.pack}`);
      });
      for (const blob of group.blobs) {
        const plain = bytes.then((b) => {
          const sealed = b.subarray(blob.at, blob.at + blob.length);
          return blob.length < INLINE_OPEN_BELOW
            ? ctx.pool.codec.openBlob(ctx.keys.encKey, ctx.keys.macKey, sealed, blob.id)
            : ctx.pool.open(sealed.slice(), blob.id);
        });
        plain.catch(() => undefined);
        queue.push({ id: blob.id, pack: group.pack, rawLength: blob.rawLength, plain });
        ahead += blob.rawLength;
      }
    }
  };
  while (true) {
    pump();
    const item = queue.shift();
    if (!item) return;
    throwIfAborted(signal);
    const plain = await item.plain;
    ahead -= item.rawLength;
    if (typeof plain === 'string') {
      throw new RepriseError('REPRISE_INTEGRITY', `pack ${item.pack}, chunk ${item.id}: ${plain}`, {
        details: { pack: item.pack, chunk: item.id },
      });
    }
    yield plain;
  }
}

/**
 * The content of a part, chunk by chunk, each verified before it is yielded; the whole-part
 * size and checksum are checked at the end. Throws REPRISE_INTEGRITY, REPRISE_STORAGE*, REPRISE_ABORTED.
 */
export async function* readPart(ctx: RepoContext, part: PartEntry, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const sum = checksums.like(part);
  let size = 0;
  for await (const chunk of readChunks(ctx, part.chunks, signal)) {
    sum?.update(chunk);
    size += chunk.length;
    yield chunk;
  }
  const wrong = checksums.disagreement(sum?.result(), part);
  if (size !== part.size || wrong) {
    throw new RepriseError('REPRISE_INTEGRITY', `part ${part.name}: content (${size} bytes${wrong ? `, ${wrong}` : ''}) does not match the snapshot`);
  }
}

/** Reads a whole chunk list into one buffer (part lists). Same errors as readChunks. */
export async function readAll(ctx: RepoContext, ids: readonly string[], signal?: AbortSignal): Promise<Buffer> {
  const pieces: Uint8Array[] = [];
  for await (const chunk of readChunks(ctx, ids, signal)) pieces.push(chunk);
  return Buffer.concat(pieces);
}

/**
 * Reads a snapshot's part list, checking its size and checksum before parsing it. Throws
 * REPRISE_INTEGRITY, REPRISE_STORAGE*, REPRISE_ABORTED.
 */
export async function loadTree(ctx: RepoContext, tree: TreeRef, signal?: AbortSignal): Promise<PartEntry[]> {
  const bytes = await readAll(ctx, tree.chunks, signal);
  const sum = checksums.like(tree);
  sum?.update(bytes);
  const wrong = checksums.disagreement(sum?.result(), tree);
  if (bytes.length !== tree.size || wrong) {
    throw new RepriseError('REPRISE_INTEGRITY', `snapshot part list (${bytes.length} bytes${wrong ? `, ${wrong}` : ''}) does not match the snapshot`);
  }
  return decodeTree(bytes);
}

/** Where and how `writePartFile` creates the file. */
export type FileTarget = Omit<FileToWrite, 'size' | 'checksum'>;

let writeTokens = 0;
const NO_BYTES = new Uint8Array(0);

/**
 * Writes the content of `part` into a new file at `target.path` (created exclusively, mode 0600
 * until finished), entirely in one worker thread: every chunk is verified before it is written,
 * then the file's size and SHA-256, then owner, mode and times are set. On failure the file is
 * removed. Resolves to the bytes written. Throws REPRISE_INTEGRITY naming the pack and chunk,
 * REPRISE_STORAGE*, REPRISE_ABORTED, or (file system) an Error with the errno `code`. `lane`
 * picks the worker (see WorkerPool.writerLane); the least busy one by default.
 */
export async function writePartFile(ctx: RepoContext, part: PartEntry, target: FileTarget, signal?: AbortSignal, lane?: number): Promise<number> {
  throwIfAborted(signal);
  const groups = planGroups(ctx, part.chunks);
  const worker = ctx.pool.writerLane(lane);
  const token = ++writeTokens;
  const file: FileToWrite = { ...target, size: part.size, ...(part.chunks.length > 1 ? { checksum: checksumOf(part) } : {}) };
  // What the worker needs to get a group's blobs: a local pack it reads itself, or the bytes.
  const source = (group: ReadGroup): Promise<Pick<WritePiece, 'bytes' | 'from'>> => {
    const key = packKey(group.pack);
    const local = ctx.backend.localFile?.(key);
    if (local) return Promise.resolve({ bytes: NO_BYTES, from: { path: local, offset: group.offset, length: group.length } });
    return ctx.backend.get(key, { offset: group.offset, length: group.length }, signal).then(
      (bytes) => ({ bytes }),
      (err: unknown) => {
        throw storageFailure(err, `read pack ${group.pack}`);
      },
    );
  };
  // An empty file is one piece without blobs. The next group is fetched while the worker writes the current one.
  const count = Math.max(1, groups.length);
  let next = groups[0] ? source(groups[0]) : Promise.resolve({ bytes: NO_BYTES });
  let outcome: { done?: number; renameFailed?: string; failure?: WriteFailure } = {};
  /** The worker holds the file open, waiting for more pieces. */
  let holding = false;
  try {
    for (let i = 0; i < count; i++) {
      const data = await next;
      const following = groups[i + 1];
      if (following) {
        next = source(following);
        next.catch(() => undefined);
      }
      throwIfAborted(signal);
      const group = groups[i];
      const blobs = group ? group.blobs.map((b) => ({ id: b.id, at: b.at, length: b.length, pack: group.pack })) : [];
      const last = i + 1 === count;
      outcome = await ctx.pool.writePiece(worker, { token, ...(i === 0 ? { file } : {}), last, blobs, ...data });
      holding = !last && !outcome.failure;
      if (outcome.failure) break;
    }
  } catch (err) {
    // A fetch failed or the restore was cancelled mid-file: the worker closes and removes it.
    if (holding) await ctx.pool.writePiece(worker, { token, last: true, abort: true, bytes: NO_BYTES, blobs: [] }).catch(() => undefined);
    throw err;
  }
  const failure = outcome.failure;
  if (failure) {
    if ('integrity' in failure) {
      const where = failure.pack ? `pack ${failure.pack}, chunk ${failure.chunk}` : `part ${part.name}`;
      throw new RepriseError('REPRISE_INTEGRITY', `${where}: ${failure.integrity}`, {
        details: { part: part.name, ...(failure.pack ? { pack: failure.pack, chunk: failure.chunk } : {}) },
      });
    }
    throw Object.assign(new Error(failure.message), failure.errno ? { code: failure.errno } : {});
  }
  if (outcome.renameFailed !== undefined) {
    throw Object.assign(new Error(`rename to ${target.renameTo} failed: ${outcome.renameFailed}`), { code: outcome.renameFailed, renameFailed: true });
  }
  return outcome.done ?? 0;
}
