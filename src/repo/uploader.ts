import { RepriseError } from '../core/errors.js';
import { chunkId } from './crypto.js';
import { storageFailure, throwIfAborted, type RepoContext } from './context.js';
import { INDEX_FLUSH_PACKS, PACK_TARGET_SIZE, packKey } from './format.js';
import { writeIndexFile, type PackRecord } from './index-store.js';
import { PackWriter } from './pack.js';

/** Chunks smaller than this are sealed on the main thread: a worker round trip costs more. */
const INLINE_SEAL_BELOW = 64 << 10;
/** Chunks handed to workers and not yet packed; bounds memory and keeps the workers busy. */
const MAX_SEALING = 8;
/** Packs being uploaded at once. */
const MAX_UPLOADS = 3;

interface Sealing {
  id: string;
  type: number;
  rawLength: number;
  blob: Promise<Uint8Array>;
}

/** Byte counters of an uploader. */
export interface UploadCounters {
  chunksNew: number;
  chunksDeduped: number;
  /** Stored bytes: packs and index files. */
  bytesAdded: number;
}

/**
 * The write half of the repository: dedups chunks against the index, seals new ones (in worker
 * threads), gathers them into packs, uploads packs in the background with bounded concurrency
 * and writes index files naming them. The shared index only learns of chunks once an index file
 * lists them, so another writer never dedups against a pack that might never be indexed.
 */
export class ChunkUploader {
  readonly counters: UploadCounters = { chunksNew: 0, chunksDeduped: 0, bytesAdded: 0 };
  private pack = new PackWriter();
  private readonly sealing: Sealing[] = [];
  private readonly uploads = new Set<Promise<void>>();
  /** Chunks sealed or packed but not yet listed by an index file. */
  private readonly pendingIds = new Set<string>();
  /** Uploaded packs not yet listed by an index file. */
  private unindexed: PackRecord[] = [];
  private failure: unknown;

  constructor(
    private readonly ctx: RepoContext,
    private readonly signal: AbortSignal,
  ) {}

  /** True when the chunk is stored, or on its way, in this repository. */
  known(id: string): boolean {
    return this.ctx.index.has(id) || this.pendingIds.has(id);
  }

  /**
   * Stores `data` unless the repository has it; returns its id. `data` is handed over (it may be
   * transferred to a worker). Throws REPRISE_ABORTED, REPRISE_STORAGE*; idempotent per content.
   */
  async store(data: Uint8Array, type: number): Promise<string> {
    const id = chunkId(this.ctx.keys.macKey, data);
    await this.storeWithId(id, data, type);
    return id;
  }

  /** As `store`, with the id already computed by the caller. */
  async storeWithId(id: string, data: Uint8Array, type: number): Promise<void> {
    this.check();
    if (this.known(id)) {
      this.counters.chunksDeduped++;
      return;
    }
    this.pendingIds.add(id);
    this.counters.chunksNew++;
    const rawLength = data.length;
    const blob =
      rawLength < INLINE_SEAL_BELOW ? Promise.resolve(this.ctx.pool.codec.sealBlob(this.ctx.keys.encKey, data)) : this.ctx.pool.seal(data);
    blob.catch(() => undefined);
    this.sealing.push({ id, type, rawLength, blob });
    while (this.sealing.length > MAX_SEALING) await this.packOne();
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
    throwIfAborted(this.signal);
  }

  private async packOne(): Promise<void> {
    const next = this.sealing.shift();
    if (!next) return;
    const blob = await next.blob;
    this.pack.add(next.id, next.type, blob, next.rawLength);
    if (this.pack.size >= PACK_TARGET_SIZE) await this.closePack();
  }

  private async closePack(): Promise<void> {
    if (this.pack.count === 0) return;
    const finished = this.pack.finish(this.ctx.pool.codec, this.ctx.keys.encKey);
    this.pack = new PackWriter();
    while (this.uploads.size >= MAX_UPLOADS) await Promise.race(this.uploads);
    this.check();
    const upload = (async () => {
      try {
        await this.ctx.backend.put(packKey(finished.id), finished.bytes, { signal: this.signal });
        this.unindexed.push({ id: finished.id, size: finished.bytes.length, entries: finished.entries });
        this.counters.bytesAdded += finished.bytes.length;
      } catch (err) {
        this.failure ??= storageFailure(err, `upload pack ${finished.id}`);
      }
    })();
    this.uploads.add(upload);
    void upload.finally(() => this.uploads.delete(upload));
    if (this.unindexed.length >= INDEX_FLUSH_PACKS) await this.writeIndex();
  }

  /** Writes an index file for the packs uploaded so far and tells the shared index. */
  private async writeIndex(): Promise<void> {
    const packs = this.unindexed;
    if (packs.length === 0) return;
    this.unindexed = [];
    const written = await writeIndexFile(this.ctx.backend, this.ctx.keys.encKey, packs, this.signal);
    this.counters.bytesAdded += written.size;
    this.ctx.index.addPacks(written.id, packs);
    for (const p of packs) for (const e of p.entries) this.pendingIds.delete(e.id);
  }

  /**
   * Seals and uploads everything pending, then writes the index: afterwards every chunk stored
   * so far is listed by an index file. Throws REPRISE_ABORTED, REPRISE_STORAGE*. Idempotent.
   */
  async flush(): Promise<void> {
    while (this.sealing.length > 0) {
      this.check();
      await this.packOne();
    }
    await this.closePack();
    await Promise.all(this.uploads);
    this.check();
    await this.writeIndex();
  }

  /** Waits for uploads in flight to settle, keeping nothing else. Never throws; idempotent. */
  async abandon(): Promise<void> {
    this.failure ??= new RepriseError('REPRISE_ABORTED', 'writer aborted');
    await Promise.allSettled(this.sealing.map((s) => s.blob));
    this.sealing.length = 0;
    await Promise.allSettled(this.uploads);
  }
}
