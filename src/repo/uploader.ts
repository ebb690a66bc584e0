import { RepriseError } from '../core/errors.js';
import { chunkId } from './crypto.js';
import { storageFailure, throwIfAborted, type RepoContext } from './context.js';
import type { JobChunk } from './file-job.js';
import { PACK_TARGET_SIZE, packKey } from './format.js';

/** Pack buffers hold a full pack plus room for its header. */
const PACK_CAPACITY = PACK_TARGET_SIZE + (1 << 20);
import { writeIndexFile, type PackRecord } from './index-store.js';
import { PackWriter } from './pack.js';

/** Chunks smaller than this are handled on the main thread: a worker round trip costs more. */
const INLINE_BELOW = 64 << 10;
/** Chunks handed to workers and not yet packed; bounds memory and keeps the workers busy. */
const MAX_SEALING = 5;
/** Packs being uploaded at once. */
const MAX_UPLOADS = 1;
/** Chunks queued per worker above which the main thread seals inline. */
const WORKER_BACKLOG = 4;
/** Above this share of recent duplicates, ids are computed before sealing, so duplicates cost no compression. */
const DEDUP_FIRST_ABOVE = 0.5;

interface Sealing {
  type: number;
  rawLength: number;
  /** Already counted and reserved in pendingIds (id known at submit time). */
  reserved: boolean;
  /** zstd level for a raw chunk sealed when packed; the codec's default when absent. */
  level?: number;
  /** Where the chunk's buffer goes once packed or dropped: ctx.buffers, or back to the workers (file jobs). */
  recycle: 'buffers' | 'workers';
  /** A sealed blob, or (in dedup-first mode) only the id and the chunk back, to seal if new. */
  sealed: Promise<{ id: string; blob: Uint8Array } | { id: string; data: Uint8Array }>;
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
 *
 * While most chunks are new, a worker computes the id together with compression and encryption
 * (the main thread only chunks) and duplicates are dropped when packed; once most recent chunks
 * are duplicates, the main thread computes ids first and only new chunks go to the workers.
 */
export class ChunkUploader {
  readonly counters: UploadCounters = { chunksNew: 0, chunksDeduped: 0, bytesAdded: 0 };
  private pack: PackWriter;
  private readonly sealing: Sealing[] = [];
  private readonly uploads = new Set<Promise<void>>();
  /** Chunks sealed or packed but not yet listed by an index file. */
  private readonly pendingIds = new Set<string>();
  /** Uploaded packs not yet listed by an index file. */
  private unindexed: PackRecord[] = [];
  private failure: unknown;
  /** Moving average of the duplicate share. */
  private dupShare = 0;

  constructor(
    private readonly ctx: RepoContext,
    private readonly signal: AbortSignal,
  ) {
    this.pack = this.newPack();
  }

  private newPack(): PackWriter {
    return new PackWriter(this.ctx.buffers.takeCapacity(PACK_CAPACITY));
  }

  /** True when the chunk is stored, or on its way, in this repository. */
  known(id: string): boolean {
    return this.ctx.index.has(id) || this.pendingIds.has(id);
  }

  private noteDuplicate(dup: boolean): void {
    this.dupShare = this.dupShare * 0.95 + (dup ? 0.05 : 0);
    if (dup) this.counters.chunksDeduped++;
    else this.counters.chunksNew++;
  }

  /**
   * Stores `data` unless the repository has it; resolves to its id once it is sealed (the caller
   * need not wait for that before submitting more). `data` must be a view at offset 0 of a buffer
   * from `ctx.buffers`, handed over: it is transferred to a worker or reused. Throws
   * REPRISE_ABORTED, REPRISE_STORAGE*; idempotent per content.
   */
  async submit(data: Uint8Array, type: number): Promise<{ id: Promise<string> }> {
    this.check();
    if (data.length < INLINE_BELOW) {
      const id = chunkId(this.ctx.keys.macKey, data);
      await this.storeWithId(id, data, type);
      return { id: Promise.resolve(id) };
    }
    const rawLength = data.length; // read before the buffer is transferred away
    const backlogged = this.ctx.pool.sealBacklog >= WORKER_BACKLOG;
    let sealed: Sealing['sealed'];
    if (this.dupShare > DEDUP_FIRST_ABOVE) {
      // Mostly duplicates: only the id is computed (in a worker); new chunks are sealed when packed.
      sealed = backlogged ? Promise.resolve({ id: chunkId(this.ctx.keys.macKey, data), data }) : this.ctx.pool.mac(data);
    } else {
      // When the workers are behind, the main thread seals this one itself instead of waiting idle.
      sealed = backlogged
        ? Promise.resolve(this.ctx.pool.codec.sealChunk(this.ctx.keys.encKey, this.ctx.keys.macKey, data, new Uint8Array(data.buffer)))
        : this.ctx.pool.seal(data);
    }
    sealed.catch(() => undefined);
    this.sealing.push({ type, rawLength, reserved: false, recycle: 'buffers', sealed });
    await this.drain(MAX_SEALING);
    const id = sealed.then((s) => s.id);
    id.catch(() => undefined);
    return { id };
  }

  /** True while most chunks are new: file jobs should seal in the workers rather than return raw chunks. */
  get sealInWorkers(): boolean {
    return this.dupShare <= DEDUP_FIRST_ABOVE;
  }

  /**
   * Stores a chunk a file job already cut (and maybe sealed) in a worker, unless the repository
   * has it. Its bytes are handed over. Same errors as submit.
   */
  async accept(chunk: JobChunk, type: number, level?: number): Promise<void> {
    this.check();
    const result = chunk.sealed ? { id: chunk.id, blob: chunk.bytes } : { id: chunk.id, data: chunk.bytes };
    this.sealing.push({ type, rawLength: chunk.rawLength, reserved: false, recycle: 'workers', sealed: Promise.resolve(result), ...(level !== undefined ? { level } : {}) });
    await this.drain(MAX_SEALING);
  }

  /** Stores `data` and waits for its id. Same errors as submit. */
  async store(data: Uint8Array, type: number): Promise<string> {
    return (await this.submit(data, type)).id;
  }

  /** As `submit`, with the id already computed by the caller. */
  async storeWithId(id: string, data: Uint8Array, type: number): Promise<void> {
    this.check();
    if (this.known(id)) {
      this.noteDuplicate(true);
      this.ctx.buffers.give(data.buffer);
      return;
    }
    this.pendingIds.add(id);
    this.noteDuplicate(false);
    const rawLength = data.length; // read before the buffer is transferred to a worker
    const sealed =
      data.length < INLINE_BELOW
        ? Promise.resolve({ id, blob: this.ctx.pool.codec.sealBlob(this.ctx.keys.encKey, data, data.byteOffset === 0 ? new Uint8Array(data.buffer) : undefined) })
        : this.ctx.pool.seal(data);
    sealed.catch(() => undefined);
    this.sealing.push({ type, rawLength, reserved: true, recycle: 'buffers', sealed });
    await this.drain(MAX_SEALING);
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
    throwIfAborted(this.signal);
  }

  private async drain(limit: number): Promise<void> {
    while (this.sealing.length > limit) {
      this.check();
      const next = this.sealing.shift() as Sealing;
      const result = await next.sealed;
      const id = result.id;
      if (!next.reserved) {
        const dup = this.known(id);
        this.noteDuplicate(dup);
        if (dup) {
          this.recycle(next, 'blob' in result ? result.blob.buffer : result.data.buffer);
          continue;
        }
        this.pendingIds.add(id);
      }
      const sealed = 'blob' in result ? result.blob : this.ctx.pool.codec.sealBlob(this.ctx.keys.encKey, result.data, new Uint8Array(result.data.buffer), next.level);
      if (!this.pack.fits(sealed.length) && this.pack.count > 0) await this.closePack();
      this.pack.add(id, next.type, sealed, next.rawLength);
      this.recycle(next, sealed.buffer);
      if (this.pack.size >= PACK_TARGET_SIZE) await this.closePack();
    }
  }

  private recycle(item: Sealing, buffer: ArrayBufferLike): void {
    if (item.recycle === 'buffers') this.ctx.buffers.give(buffer);
    else this.ctx.pool.reuse(buffer);
  }

  private async closePack(): Promise<void> {
    if (this.pack.count === 0) return;
    const { id, bytes, entries } = this.pack.finish(this.ctx.pool.codec, this.ctx.keys.encKey);
    this.pack = this.newPack();
    while (this.uploads.size >= MAX_UPLOADS) await Promise.race(this.uploads);
    this.check();
    const upload = (async () => {
      try {
        await this.ctx.backend.put(packKey(id), bytes, { signal: this.signal });
        this.unindexed.push({ id, size: bytes.length, entries });
        this.counters.bytesAdded += bytes.length;
        this.ctx.buffers.give(bytes.buffer);
      } catch (err) {
        this.failure ??= storageFailure(err, 'upload pack');
      }
    })();
    this.uploads.add(upload);
    void upload.finally(() => this.uploads.delete(upload));
    if (this.unindexed.length >= this.ctx.indexFlushPacks) await this.writeIndex();
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
    await this.drain(0);
    await this.closePack();
    await Promise.all(this.uploads);
    this.check();
    await this.writeIndex();
  }

  /** Waits for work in flight to settle, keeping nothing else. Never throws; idempotent. */
  async abandon(): Promise<void> {
    this.failure ??= new RepriseError('REPRISE_ABORTED', 'writer aborted');
    await Promise.allSettled(this.sealing.map((s) => s.sealed));
    this.sealing.length = 0;
    await Promise.allSettled(this.uploads);
  }
}
