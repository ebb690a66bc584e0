import type { PartMeta, ByteStream, LocalFile } from '../sources/source.js';
import type { ChunkerParams, PartEntry, SnapshotHeader, SnapshotSummary, SnapshotWriter, WriterOptions, WriterStats } from './api.js';
import type { BufferPool } from './buffer-pool.js';
import { Chunker, resolveChunkerParams } from './chunker.js';
import { throwIfAborted, type RepoContext } from './context.js';
import { BLOB_TYPE } from './format.js';
import { checksumOf, checksums, type ContentChecksum } from './content-checksum.js';
import { identityText, writeSnapshotFile, type SnapshotFile, type TreeRef } from './snapshot-store.js';
import { contentHash, encodeTreePieces } from './tree.js';
import { ChunkUploader } from './uploader.js';
import type { FileJobResult, JobChunk } from './file-job.js';
import { adoptUnindexedPacks } from './adopt.js';
import { RepriseError } from '../core/errors.js';

/** Room left after a chunk so its sealed blob fits in the same buffer. */
const BLOB_SLACK = 64;
const EMPTY_CHECKSUM = checksums.start().result();
const PROGRESS_EVERY_MS = 100;

/**
 * Cuts `stream` into content-defined chunks and hands each to `onChunk` in a buffer from `buffers`
 * (at offset 0, with room for the blob overhead) that it owns from then on.
 * Returns the stream's size and checksum. Throws what `onChunk` or the stream throws.
 */
export async function chunkStream(
  buffers: BufferPool,
  chunker: Chunker,
  stream: ByteStream | Iterable<Uint8Array>,
  signal: AbortSignal,
  onChunk: (data: Uint8Array) => Promise<void>,
  onBytes?: (n: number) => void,
): Promise<{ size: number } & ContentChecksum> {
  const sum = checksums.start();
  let size = 0;
  let pieces: Uint8Array[] = [];
  let piecesLength = 0;
  const emit = async (): Promise<void> => {
    const data = buffers.take(piecesLength, BLOB_SLACK);
    let at = 0;
    for (const piece of pieces) {
      data.set(piece, at);
      at += piece.length;
    }
    pieces = [];
    piecesLength = 0;
    await onChunk(data);
  };
  chunker.reset();
  for await (const raw of stream as AsyncIterable<Uint8Array | string>) {
    throwIfAborted(signal);
    const buf = typeof raw === 'string' ? Buffer.from(raw) : raw;
    if (buf.length === 0) continue;
    sum.update(buf);
    size += buf.length;
    let start = 0;
    for (const cut of chunker.push(buf)) {
      pieces.push(buf.subarray(start, cut));
      piecesLength += cut - start;
      start = cut;
      await emit();
    }
    if (start < buf.length) {
      pieces.push(buf.subarray(start));
      piecesLength += buf.length - start;
    }
    onBytes?.(buf.length);
  }
  if (piecesLength > 0) await emit();
  chunker.reset();
  return { size, ...sum.result() };
}

/**
 * Stores a part list as tree chunks, serialised piece by piece (encodeTreePieces); returns where
 * it is. Same errors as chunkStream.
 */
export async function storeTree(uploader: ChunkUploader, buffers: BufferPool, chunker: Chunker, parts: readonly PartEntry[], signal: AbortSignal): Promise<TreeRef> {
  const chunks: string[] = [];
  const result = await chunkStream(buffers, chunker, encodeTreePieces(parts), signal, async (data) => {
    chunks.push(await uploader.store(data, BLOB_TYPE.tree));
  });
  return { chunks, size: result.size, ...checksumOf(result) };
}

/**
 * The entry of a part: `meta`'s fields, then `chunks`, `size` and the checksum, in the order
 * `{ ...meta, chunks, size, ...checksum }` gives them (a part list's bytes, and so its chunks,
 * depend on it). Built with Object.assign: on Node 20's V8, a spread followed by a new property
 * gives every object a hidden class of its own, ~600 bytes each (12 MiB of a backup's heap at
 * 20,724 files), where Object.assign's objects share one.
 */
export function partEntry(meta: PartMeta, chunks: string[], size: number, checksum: ContentChecksum): PartEntry {
  // An exact copy of `chunks`: an array grown by push keeps room for 17 ids after the first.
  return Object.assign({}, meta, { chunks: chunks.slice(), size }, checksum);
}

/** A snapshot being written; see SnapshotWriter in api.ts. */
export class Writer implements SnapshotWriter {
  readonly stats: WriterStats = { partsNew: 0, partsReused: 0, bytesRead: 0, chunksNew: 0, chunksDeduped: 0, bytesAdded: 0 };
  /** In snapshot order; a slot is reserved when a part is added and filled when it is done. */
  private readonly parts: Array<PartEntry | undefined> = [];
  /** File jobs still running in workers. */
  private readonly jobs = new Set<Promise<unknown>>();
  private readonly names = new Set<string>();
  /** Parts recorded by reusePart: their chunks must still exist when the snapshot is committed. */
  private readonly reused: PartEntry[] = [];
  private readonly uploader: ChunkUploader;
  private readonly chunker: Chunker;
  private readonly chunkerParams: ChunkerParams;
  private readonly compressionLevel: number | undefined;
  private readonly signal: AbortSignal;
  private readonly onProgress: ((stats: WriterStats) => void) | undefined;
  private lastProgress = 0;
  private done = false;
  private fresh: Promise<void> | undefined;
  /** The refresh has completed: later parts skip awaiting it (an await per file is garbage per file). */
  private freshDone = false;
  /** Index bytes written to adopt packs of interrupted backups. */
  private adoptedBytes = 0;

  constructor(
    private readonly ctx: RepoContext,
    options: WriterOptions,
  ) {
    this.signal = options.signal;
    this.onProgress = options.onProgress;
    const params = resolveChunkerParams(ctx.chunker, options.chunker);
    this.chunker = new Chunker(ctx.gear, params);
    this.chunkerParams = params;
    this.compressionLevel = options.compressionLevel;
    this.uploader = new ChunkUploader(ctx, this.signal);
  }

  private sync(): void {
    const c = this.uploader.counters;
    this.stats.chunksNew = c.chunksNew;
    this.stats.chunksDeduped = c.chunksDeduped;
    this.stats.bytesAdded = c.bytesAdded + this.adoptedBytes;
  }

  private progress(force = false): void {
    if (!this.onProgress) return;
    const now = Date.now();
    if (!force && now - this.lastProgress < PROGRESS_EVERY_MS) return;
    this.lastProgress = now;
    this.sync();
    this.onProgress({ ...this.stats });
  }

  /** Takes the next place in the snapshot for a part named `name`. */
  private reserve(name: string): number {
    if (this.names.has(name)) throw new RepriseError('REPRISE_INTERNAL', `part ${name} added twice to one snapshot`);
    this.names.add(name);
    return this.parts.push(undefined) - 1;
  }

  private record(entry: PartEntry): PartEntry {
    this.parts[this.reserve(entry.name)] = entry;
    return entry;
  }

  private assertOpen(): void {
    if (this.done) throw new RepriseError('REPRISE_INTERNAL', 'snapshot writer used after commit or abort');
    throwIfAborted(this.signal);
  }

  /**
   * Refreshes the index once, under the caller's shared lock: an index loaded before the lock
   * may still list packs a prune has since deleted, and deduplicating against those would
   * write a snapshot whose data is gone.
   */
  private ensureFreshIndex(): Promise<void> {
    this.fresh ??= (async () => {
      await this.ctx.index.refresh(this.ctx.backend, this.ctx.keys.encKey, this.signal);
      // Packs a killed backup uploaded but never indexed are adopted, so this backup dedups against them.
      this.adoptedBytes = await adoptUnindexedPacks(this.ctx, this.signal);
      this.freshDone = true;
    })();
    return this.fresh;
  }

  async addPart(meta: PartMeta, content?: ByteStream): Promise<PartEntry> {
    this.assertOpen();
    await this.ensureFreshIndex();
    const chunks: string[] = [];
    let size = 0;
    let checksum = EMPTY_CHECKSUM;
    if (meta.type === 'file' && content) {
      const ids: Promise<string>[] = [];
      const result = await chunkStream(
        this.ctx.buffers,
        this.chunker,
        content,
        this.signal,
        async (data) => {
          ids.push((await this.uploader.submit(data, BLOB_TYPE.data)).id);
        },
        (n) => {
          this.stats.bytesRead += n;
          this.progress();
        },
      );
      chunks.push(...(await Promise.all(ids)));
      size = result.size;
      checksum = checksumOf(result);
    }
    this.stats.partsNew++;
    return this.record(partEntry(meta, chunks, size, checksum));
  }

  reusePart(meta: PartMeta, previous: PartEntry): PartEntry {
    this.assertOpen();
    this.stats.partsReused++;
    // The parent's checksum, whatever its kind: the content is the parent's.
    const entry = this.record(partEntry(meta, previous.chunks, previous.size, checksumOf(previous)));
    this.reused.push(entry);
    return entry;
  }

  async addLocalFile(meta: PartMeta, file: LocalFile): Promise<PartEntry> {
    this.assertOpen();
    const slot = this.reserve(meta.name);
    const job = (async () => {
      if (!this.freshDone) await this.ensureFreshIndex();
      const chunks: string[] = [];
      const params = this.chunkerParams;
      const request = {
        path: file.path,
        minSize: params.minSize,
        avgSize: params.avgSize,
        maxSize: params.maxSize,
        seal: this.uploader.sealInWorkers,
        ...(this.compressionLevel !== undefined ? { level: this.compressionLevel } : {}),
      };
      let result: FileJobResult;
      try {
        const onChunk = async (chunk: JobChunk): Promise<void> => {
          chunks.push(chunk.id);
          this.stats.bytesRead += chunk.rawLength;
          await this.uploader.accept(chunk, BLOB_TYPE.data, this.compressionLevel);
          this.progress();
        };
        // The size the walk saw lets small files travel to the workers in batches.
        result = await this.ctx.pool.readFile(request, onChunk, meta.size);
      } catch (err) {
        // Failures of the repository side are RepriseErrors; anything else is the read itself.
        throw err instanceof RepriseError || !(err instanceof Error) ? err : file.unreadable(err);
      }
      this.stats.partsNew++;
      const entry = partEntry(meta, chunks, result.size, checksumOf(result));
      this.parts[slot] = entry;
      return entry;
    })();
    this.jobs.add(job);
    job.then(
      () => this.jobs.delete(job),
      () => this.jobs.delete(job),
    );
    return job;
  }

  async commit(header: SnapshotHeader): Promise<SnapshotSummary> {
    this.assertOpen();
    try {
      await this.ensureFreshIndex();
      await Promise.all(this.jobs);
      for (const part of this.reused) {
        const missing = part.chunks.find((id) => !this.uploader.known(id));
        if (missing !== undefined) {
          throw new RepriseError('REPRISE_INTEGRITY', `part ${part.name} reuses chunk ${missing}, which the repository no longer has`, {
            hint: 'The parent snapshot was pruned meanwhile: run the backup again (it will read the content).',
          });
        }
      }
      const parts = this.parts as PartEntry[];
      const tree = await storeTree(this.uploader, this.ctx.buffers, this.chunker, parts, this.signal);
      await this.uploader.flush();
      throwIfAborted(this.signal);
      const identity = identityText({
        ...header,
        time: new Date(this.ctx.now()).toISOString(),
        host: this.ctx.hostname,
        parts: parts.length,
        size: parts.reduce((sum, p) => sum + p.size, 0),
        content: contentHash(parts),
      });
      this.sync();
      // `added` in the file counts packs and index files: the snapshot file's own size is known only once sealed.
      const file: SnapshotFile = { v: 1, identity, tree, added: this.stats.bytesAdded };
      const written = await writeSnapshotFile(this.ctx.backend, this.ctx.keys.encKey, file, this.signal);
      this.stats.bytesAdded += written.size;
      this.done = true;
      this.progress(true);
      return written.summary;
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  async abort(): Promise<void> {
    this.done = true;
    // Abandoning first makes running file jobs fail at their next chunk instead of reading on.
    const abandoned = this.uploader.abandon();
    await Promise.allSettled(this.jobs);
    await abandoned;
  }
}
