import { RepriseError } from '../core/errors.js';
import type { RepoContext } from './context.js';
import { readChunks } from './reader.js';
import { decodeTree } from './tree.js';

/**
 * What the check needs of one chunk of a part list (tree), kept across snapshots: consecutive
 * snapshots of a source share most of these chunks, so each is read, opened and parsed once.
 * Lines may cross chunk boundaries (and split a UTF-8 character), so the bytes before the first
 * and after the last newline are kept as they are, to be joined with the neighbouring chunks.
 */
interface ScannedChunk {
  /** Bytes before the first newline; the whole chunk when it has none. */
  head: Uint8Array;
  /** Bytes after the last newline; undefined when the chunk has no newline. */
  tail: Uint8Array | undefined;
  /** Packs holding the chunks named by the lines wholly inside this chunk. */
  packs: Set<string>;
  /** How many chunks those lines name that no index lists. */
  absent: number;
}

/** Part-list chunk id → what it names; share one across the snapshots of a check. */
export type PartListCache = Map<string, ScannedChunk>;

/** What a snapshot's part list depends on. */
export interface PartListScan {
  /** Packs holding its data chunks. */
  packs: Set<string>;
  /** Data chunks it names (with repeats) that no index lists. */
  absent: number;
}

const NEWLINE = 0x0a;

/** Chunk id → pack, as the index knows it. */
export type ChunkPacks = ReadonlyMap<string, { pack: string }>;

/** Adds to `into` the packs of the chunks the parts in `lines` name; returns how many are not indexed. */
function locateParts(index: ChunkPacks, lines: Uint8Array, into: Set<string>): number {
  let absent = 0;
  for (const part of decodeTree(lines)) {
    for (const chunk of part.chunks) {
      const loc = index.get(chunk);
      if (loc) into.add(loc.pack);
      else absent++;
    }
  }
  return absent;
}

function scanChunk(index: ChunkPacks, bytes: Uint8Array): ScannedChunk {
  const first = bytes.indexOf(NEWLINE);
  if (first < 0) return { head: bytes, tail: undefined, packs: new Set(), absent: 0 };
  const last = bytes.lastIndexOf(NEWLINE);
  const packs = new Set<string>();
  const absent = first < last ? locateParts(index, bytes.subarray(first + 1, last), packs) : 0;
  // Copies: the fragments outlive the chunk's buffer in the cache.
  return { head: bytes.slice(0, first), tail: bytes.slice(last + 1), packs, absent };
}

/**
 * Reads the part list made of `treeChunks` (their packs are already in the index) and returns
 * the packs its data chunks live in and how many of them no index lists. Chunks found in `cache`
 * are not read again; chunks read are added to it. Throws what readChunks throws (a damaged or
 * missing chunk: REPRISE_INTEGRITY), REPRISE_INTEGRITY for a line that is not JSON, REPRISE_ABORTED.
 */
export async function scanPartList(ctx: RepoContext, treeChunks: readonly string[], cache: PartListCache, signal?: AbortSignal): Promise<PartListScan> {
  const reading = readChunks(ctx, [...new Set(treeChunks.filter((id) => !cache.has(id)))], signal);
  try {
    return await scanChunks(ctx.index.chunks, treeChunks, cache, reading);
  } finally {
    await reading.return(undefined);
  }
}

/**
 * scanPartList's work once the chunks are read: `fresh` yields, in order, the plaintext of each
 * distinct chunk of `treeChunks` that `cache` lacks. Throws REPRISE_INTEGRITY for a line that is
 * not JSON, REPRISE_INTERNAL when `fresh` ends early, and what `fresh` throws.
 */
export async function scanChunks(index: ChunkPacks, treeChunks: readonly string[], cache: PartListCache, fresh: AsyncIterator<Uint8Array>): Promise<PartListScan> {
  const packs = new Set<string>();
  let absent = 0;
  // The line begun in earlier chunks, waiting for its newline.
  let pending: Uint8Array[] = [];
  const endLine = (): void => {
    absent += locateParts(index, Buffer.concat(pending), packs);
    pending = [];
  };
  for (const id of treeChunks) {
    let scanned = cache.get(id);
    if (!scanned) {
      const next = await fresh.next();
      if (next.done) throw new RepriseError('REPRISE_INTERNAL', `part list chunk ${id} was not read`);
      scanned = scanChunk(index, next.value);
      cache.set(id, scanned);
    }
    pending.push(scanned.head);
    if (scanned.tail === undefined) continue;
    endLine();
    for (const pack of scanned.packs) packs.add(pack);
    absent += scanned.absent;
    pending.push(scanned.tail);
  }
  endLine();
  return { packs, absent };
}
