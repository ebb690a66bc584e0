import { createHash } from 'node:crypto';
import { RepriseError } from '../core/errors.js';
import type { PartEntry } from './api.js';
import { storageFailure, throwIfAborted, type RepoContext } from './context.js';
import { packKey } from './format.js';
import type { ChunkLocation } from './index-store.js';

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
 * SHA-256 is checked at the end. Throws REPRISE_INTEGRITY, REPRISE_STORAGE*, REPRISE_ABORTED.
 */
export async function* readPart(ctx: RepoContext, part: PartEntry, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const sha = createHash('sha256');
  let size = 0;
  for await (const chunk of readChunks(ctx, part.chunks, signal)) {
    sha.update(chunk);
    size += chunk.length;
    yield chunk;
  }
  const digest = sha.digest('hex');
  if (size !== part.size || digest !== part.sha256) {
    throw new RepriseError('REPRISE_INTEGRITY', `part ${part.name}: content (${size} bytes, sha256 ${digest.slice(0, 16)}…) does not match the snapshot`);
  }
}

/** Reads a whole chunk list into one buffer (part lists). Same errors as readChunks. */
export async function readAll(ctx: RepoContext, ids: readonly string[], signal?: AbortSignal): Promise<Buffer> {
  const pieces: Uint8Array[] = [];
  for await (const chunk of readChunks(ctx, ids, signal)) pieces.push(chunk);
  return Buffer.concat(pieces);
}
