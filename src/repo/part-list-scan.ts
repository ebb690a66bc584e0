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

/** `"chunks":[`, the key that opens a part's chunk ids on its JSON line. */
const CHUNKS_KEY = Buffer.from('"chunks":[');
/** Bytes of one id in the list: quote, 64 hex digits, quote, and the comma or bracket after it. */
const ID_STRIDE = 67;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const CLOSE_LIST = 0x5d;
const BACKSLASH = 0x5c;
/** Lower-case hex digits, the bytes of a chunk id. */
const HEX = new Uint8Array(256);
for (const c of Buffer.from('0123456789abcdef')) HEX[c] = 1;
/** Bytes that open or close a nested value, or escape: none may follow a part's own chunk list. */
const NESTING = new Uint8Array(256);
for (const c of Buffer.from('{}[]\\')) NESTING[c] = 1;

/**
 * Where the chunk ids of the part on `line` start and how many there are, read straight from
 * the bytes as `encodeTreePieces` writes them: `{...,"chunks":["<id>",...],"size":N,...}` with
 * nothing nested after the list, so the list found is the part's own and not one inside a
 * source's `extra`. Undefined when the line has another shape (the caller then parses it).
 * Pure.
 */
function chunkList(line: Buffer): { first: number; count: number } | undefined {
  const key = line.lastIndexOf(CHUNKS_KEY);
  if (key <= 0 || line[0] !== OPEN_OBJECT || line[key - 1] === BACKSLASH) return undefined;
  const first = key + CHUNKS_KEY.length;
  let at = first;
  let count = 0;
  if (line[at] !== CLOSE_LIST) {
    for (;;) {
      if (line[at] !== QUOTE || line[at + 65] !== QUOTE) return undefined;
      for (let i = at + 1; i < at + 65; i++) if (HEX[line[i] as number] === 0) return undefined;
      count++;
      at += 66;
      if (line[at] === CLOSE_LIST) break;
      if (line[at] !== COMMA) return undefined;
      at++;
    }
  }
  const last = line.length - 1;
  if (line[last] !== CLOSE_OBJECT) return undefined;
  for (let i = at + 1; i < last; i++) if (NESTING[line[i] as number] === 1) return undefined;
  return { first, count };
}

/**
 * Adds to `into` the packs of the chunks the parts in `lines` name; returns how many are not
 * indexed. The check needs only the ids, and takes them from the bytes (chunkList) instead of
 * parsing each line: 21k parts in ~20 ms instead of ~50 ms plus their garbage, on a thread that
 * shares the cores with the verifying workers. The bytes are authenticated (each chunk's id is
 * its keyed hash); a line of another shape is parsed, and one that is not JSON is reported.
 */
function locateParts(index: ChunkPacks, lines: Uint8Array, into: Set<string>): number {
  const buf = Buffer.from(lines.buffer, lines.byteOffset, lines.length);
  let absent = 0;
  const visit = (chunk: string): void => {
    const loc = index.get(chunk);
    if (loc) into.add(loc.pack);
    else absent++;
  };
  for (let start = 0; start < buf.length; ) {
    let end = buf.indexOf(NEWLINE, start);
    if (end < 0) end = buf.length;
    if (end > start) {
      const line = buf.subarray(start, end);
      const list = chunkList(line);
      if (list) for (let k = 0, at = list.first + 1; k < list.count; k++, at += ID_STRIDE) visit(line.toString('latin1', at, at + 64));
      else for (const chunk of parsedChunks(line)) visit(chunk);
    }
    start = end + 1;
  }
  return absent;
}

/** The chunk ids of one part line, parsed as JSON. Throws REPRISE_INTEGRITY when it is not a part. */
function parsedChunks(line: Buffer): string[] {
  const [part] = decodeTree(line);
  const chunks = part?.chunks as unknown;
  if (!Array.isArray(chunks) || !chunks.every((c) => typeof c === 'string')) {
    throw new RepriseError('REPRISE_INTEGRITY', 'snapshot part list has a line without a list of chunk ids');
  }
  return chunks as string[];
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
