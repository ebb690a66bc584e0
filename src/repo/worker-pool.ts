import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as nodeCrypto from 'node:crypto';
import { RepriseError } from '../core/errors.js';
import { chunkerSource } from './chunker.js';
import { createBlobCodec, type BlobCodec, type PackVerification } from './compress.js';
import { createPackFileReader } from './pack-file.js';
import { createFileJobRunner, type FileJob, type FileJobResult, type JobChunk } from './file-job.js';
import { createFileWriter, type WriteFailure, type WritePiece } from './file-writer.js';
import { createChecksums } from './content-checksum.js';
import { ZSTD_LEVEL } from './format.js';
import { WRITE_PIECE_BYTES } from '../core/write-pieces.js';
import { utimesSeconds } from '../core/file-times.js';

/**
 * A small pool of worker threads running the blob codec, so compression, encryption and
 * verification use the cores the main thread (chunking, hashing) leaves free. The worker
 * source is built from `createBlobCodec`'s own text: one implementation, no build step, and it
 * runs the same from TypeScript sources (tests) and from dist/.
 */

const require = createRequire(import.meta.url);
const ZSTD_BINDING = require.resolve('zstd-napi/binding');
const zstd = require(ZSTD_BINDING) as typeof import('zstd-napi/binding.js');

type Task =
  | { op: 'seal'; buffer: ArrayBuffer; length: number }
  | { op: 'mac'; buffer: ArrayBuffer; length: number }
  | { op: 'open'; buffer: ArrayBuffer; offset: number; length: number; id: string }
  | { op: 'verify'; pack: Uint8Array }
  | { op: 'verifyFile'; path: string }
  | { op: 'file'; job: FileJob }
  | { op: 'files'; items: Array<{ seq: number; job: FileJob }> }
  | ({ op: 'write' } & Omit<WritePiece, 'bytes'> & { buffer: ArrayBuffer; offset: number; length: number });

/** A chunk as it crosses from a worker. */
interface WireChunk {
  id: string;
  buffer: ArrayBuffer;
  offset: number;
  length: number;
  rawLength: number;
  sealed: boolean;
}

/** What a worker sends back for a task (batches send several in one message). */
interface WorkerReply {
  seq: number;
  result?: unknown;
  error?: string;
  errno?: string;
  chunk?: WireChunk;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  /** File jobs: where chunks go, one at a time, in order. */
  onChunk?: (chunk: JobChunk) => Promise<void> | void;
  /** File jobs: the chunk handed to onChunk last, settled before the next one goes. */
  chain?: Promise<void>;
}

/**
 * Only blob buffers this large go back to the workers: smaller ones come from malloc's free lists
 * at no cost, while each transferred buffer costs a detach and a new object on both sides (small
 * files sent back hundreds of them per message).
 */
const SPARE_MIN_BYTES = 128 << 10;

/** Bytes of blob buffers held on the main thread until the next message to a worker takes them back. */
const SPARES_IN_TRANSIT = 4 << 20;

/** Files up to this size are sent to the workers in batches, up to BATCH_FILES at a time. */
const BATCH_FILE_BYTES = 64 << 10;
const BATCH_FILES = 16;

/** Chunks of one file a worker may send ahead of the main thread taking them: bounds memory on slow storage. */
const JOB_CREDITS = 4;

function closedError(): RepriseError {
  return new RepriseError('REPRISE_INTERNAL', 'worker pool used after close');
}

function fromWire(c: WireChunk): JobChunk {
  return { id: c.id, bytes: new Uint8Array(c.buffer, c.offset, c.length), rawLength: c.rawLength, sealed: c.sealed };
}

function workerSource(): string {
  return `
const { parentPort, workerData } = require('node:worker_threads');
const createBlobCodec = ${createBlobCodec.toString()};
const codec = createBlobCodec({ crypto: require('node:crypto'), zstd: require(workerData.zstdPath), zstdLevel: workerData.zstdLevel });
const encKey = Buffer.from(workerData.encKey);
const macKey = Buffer.from(workerData.macKey);
// V8 frees dead buffers only when it collects, and external memory alone lets ~64 MiB of them
// pile up per thread. A short-lived array sized after the bytes just produced fills the (small)
// young generation so that a cheap scavenge runs every chunk or two and frees them: about 30 MiB
// less peak RSS for a few percent of CPU.
// The filler comes in arrays of 64 KiB: a larger one would go to the large-object space, a fresh
// memory mapping each time (page faults on every page) that no scavenge is needed to free.
function collectSoon(bytes) {
  let length = 0;
  for (let left = bytes >>> 5; left > 0; left -= 8192) length += new Array(Math.min(left, 8192)).fill(0).length;
  return length;
}
const withPackFile = (${createPackFileReader.toString()})(require('node:fs'));
// Opening a pack's blobs leaves their plaintext copies behind, and memory that malloc once grew
// for them stays in the process: a collection every 2 MiB read keeps that small (measured 25 MiB
// less peak RSS over two workers, at the same speed).
function collectingEvery(bytes, readAt) {
  let since = 0;
  return (offset, length) => {
    since += length;
    if (since >= bytes) {
      since = 0;
      collectSoon(bytes);
    }
    return readAt(offset, length);
  };
}
${chunkerSource()}
const checksums = (${createChecksums.toString()})({ crypto: require('node:crypto'), zlib: require('node:zlib') });
const createFileJobRunner = ${createFileJobRunner.toString()};
const gear = new Uint32Array(workerData.gear);
const fileJobs = createFileJobRunner({
  fs: require('node:fs'), codec, checksums, encKey, macKey,
  newChunker: (params) => new Chunker(gear, params),
});
const toWire = (c) => ({ id: c.id, buffer: c.bytes.buffer, offset: c.bytes.byteOffset, length: c.bytes.length, rawLength: c.rawLength, sealed: c.sealed });
// File jobs: chunks sent and not yet acknowledged, and the job waiting for an acknowledgement.
const jobs = new Map();
// A batch of small files runs one file after the other; their results go back in one message.
async function fileBatch(msg) {
  const settled = [];
  const transfer = [];
  for (const item of msg.items) {
    await new Promise((done) => fileJob(item, (reply, buffers) => {
      settled.push(reply);
      transfer.push(...buffers);
      done();
    }));
  }
  parentPort.postMessage({ batch: settled }, transfer);
  collectSoon(settled.reduce((sum, r) => sum + ((r.result && r.result.size) || 0), 0));
}
// \`reply\`, when given, takes the final message instead of posting it (batches).
function fileJob(msg, reply) {
  const state = { unacked: 0, wake: undefined, stop: false };
  jobs.set(msg.seq, state);
  // The last chunk travels with the result: a one-chunk file costs one message and no acknowledgement.
  let held;
  const emit = async (chunk) => {
    if (held !== undefined) {
      while (state.unacked >= workerData.jobCredits) await new Promise((resolve) => (state.wake = resolve));
      if (state.stop) throw new Error('file job cancelled');
      state.unacked++;
      parentPort.postMessage({ seq: msg.seq, chunk: toWire(held) }, [held.bytes.buffer]);
    }
    held = chunk;
  };
  fileJobs.run(msg.job, emit).then(
    (result) => {
      jobs.delete(msg.seq);
      const last = held === undefined ? undefined : toWire(held);
      const final = { seq: msg.seq, result: { ...result, last } };
      if (reply) return reply(final, last ? [last.buffer] : []);
      parentPort.postMessage(final, last ? [last.buffer] : []);
      collectSoon(result.size);
    },
    (err) => {
      jobs.delete(msg.seq);
      const final = { seq: msg.seq, error: String((err && err.message) || err), errno: err && typeof err.code === 'string' ? err.code : undefined };
      if (reply) return reply(final, []);
      parentPort.postMessage(final);
    },
  );
}
const fileWriter = (${createFileWriter.toString()})({ fs: require('node:fs'), writePieceBytes: ${WRITE_PIECE_BYTES}, utimesSeconds: ${utimesSeconds.toString()}, checksums, codec, encKey, macKey });
parentPort.on('message', (msg) => {
  if (msg.spares) fileJobs.reuse(msg.spares);
  if (msg.op === 'write') {
    const outcome = fileWriter.write({ ...msg, bytes: new Uint8Array(msg.buffer, msg.offset, msg.length) });
    parentPort.postMessage({ seq: msg.seq, result: outcome ?? {} });
    collectSoon(msg.from ? msg.from.length : msg.length);
    return;
  }
  if (msg.op === 'ack') {
    const state = jobs.get(msg.job);
    if (state) {
      state.unacked--;
      if (msg.stop) state.stop = true;
      const wake = state.wake;
      state.wake = undefined;
      if (wake) wake();
    }
    return;
  }
  if (msg.op === 'file') return fileJob(msg);
  if (msg.op === 'files') return void fileBatch(msg);
  try {
    if (msg.op === 'seal') {
      const { id, blob } = codec.sealChunk(encKey, macKey, new Uint8Array(msg.buffer, 0, msg.length), new Uint8Array(msg.buffer));
      parentPort.postMessage({ seq: msg.seq, result: { id, buffer: blob.buffer, length: blob.length } }, [blob.buffer]);
      collectSoon(msg.length);
    } else if (msg.op === 'mac') {
      const view = new Uint8Array(msg.buffer, 0, msg.length);
      const id = codec.mac(macKey, view);
      parentPort.postMessage({ seq: msg.seq, result: { id, buffer: msg.buffer, length: msg.length } }, [msg.buffer]);
    } else if (msg.op === 'open') {
      const out = codec.openBlob(encKey, macKey, new Uint8Array(msg.buffer, msg.offset, msg.length), msg.id);
      if (typeof out === 'string') parentPort.postMessage({ seq: msg.seq, result: out });
      else parentPort.postMessage({ seq: msg.seq, result: { buffer: out.buffer, offset: out.byteOffset, length: out.length } }, [out.buffer]);
      collectSoon(msg.length);
    } else if (msg.op === 'verifyFile') {
      let report;
      try {
        report = withPackFile(msg.path, (size, readAt) => ({ ...codec.verifyPackRanges(encKey, macKey, size, collectingEvery(2 << 20, readAt)), size }));
      } catch (err) {
        report = { unreadable: String((err && err.message) || err) };
      }
      parentPort.postMessage({ seq: msg.seq, result: report });
    } else {
      const report = codec.verifyPack(encKey, macKey, msg.pack);
      parentPort.postMessage({ seq: msg.seq, result: report });
      collectSoon(msg.pack.length);
    }
  } catch (err) {
    parentPort.postMessage({ seq: msg.seq, error: String(err && err.stack || err) });
  }
});`;
}

/** True when a view spans its whole, non-shared ArrayBuffer, so it can be transferred. */
function ownsBuffer(data: Uint8Array): boolean {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
}

/** The ArrayBuffer to transfer for a view starting at offset 0 (its spare capacity travels along), else a copy's. */
function transferable(data: Uint8Array): ArrayBuffer {
  // Small buffers may belong to Node's shared allocation pool: never detach those.
  if (data.byteOffset === 0 && data.buffer instanceof ArrayBuffer && data.buffer.byteLength >= 1 << 16) return data.buffer;
  return data.slice().buffer as ArrayBuffer;
}

/** Keys a pool works with; copied into each worker at start. */
export interface PoolKeys {
  encKey: Uint8Array;
  macKey: Uint8Array;
  /** The repository's chunker gear table (file jobs chunk in the workers). */
  gear?: Uint32Array;
}

/** Default pool size: one worker per core, at most 4 (the main thread mostly waits on them). */
export function defaultPoolSize(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** Owns the worker threads of one repository. Start lazily, `close` when done. */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private closed = false;
  /** The same codec on the main thread, for small and latency-bound work. */
  readonly codec: BlobCodec;

  constructor(
    private readonly keys: PoolKeys,
    private readonly size = defaultPoolSize(),
  ) {
    this.codec = createBlobCodec({ crypto: nodeCrypto, zstd, zstdLevel: ZSTD_LEVEL });
  }

  /**
   * Workers used while writing: one fewer than the pool, since the main thread is busy chunking
   * and hashing then, and each extra thread holds its own garbage (memory) for little gain.
   */
  private get sealLanes(): number {
    return Math.max(1, this.size - 1);
  }

  /** Tasks queued or running on the workers used while writing, per worker. */
  get sealBacklog(): number {
    let total = 0;
    for (let i = 0; i < Math.min(this.sealLanes, this.load.length); i++) total += this.load[i] ?? 0;
    return total / this.sealLanes;
  }

  /** Tasks queued or running in workers. */
  get inFlight(): number {
    return this.pending.size;
  }

  private startOne(): void {
    const i = this.workers.length;
    const worker = new Worker(workerSource(), {
      eval: true,
      resourceLimits: { maxYoungGenerationSizeMb: 1 },
      workerData: {
        zstdPath: ZSTD_BINDING,
        zstdLevel: ZSTD_LEVEL,
        encKey: this.keys.encKey,
        macKey: this.keys.macKey,
        gear: this.keys.gear ?? new Uint32Array(256),
        jobCredits: JOB_CREDITS,
      },
    });
    worker.on('message', (msg: WorkerReply | { batch: WorkerReply[] }) => {
      if ('batch' in msg) for (const reply of msg.batch) this.settle(i, worker, reply);
      else this.settle(i, worker, msg);
    });
    worker.on('error', (err) => this.failAll(err));
    worker.unref();
    this.workers.push(worker);
    this.load.push(0);
  }

  /** Handles one reply of worker `i`: a file job's chunk, or a task's result or failure. */
  private settle(i: number, worker: Worker, msg: WorkerReply): void {
    const waiter = this.pending.get(msg.seq);
    if (msg.chunk !== undefined) {
      if (waiter) {
        this.deliver(waiter, fromWire(msg.chunk), (stop) => {
          const spares = this.takeSpares();
          worker.postMessage({ op: 'ack', job: msg.seq, stop, spares }, spares);
        });
      }
      return;
    }
    this.pending.delete(msg.seq);
    this.load[i] = (this.load[i] ?? 1) - 1;
    if (this.load[i] === 0) worker.unref();
    if (!waiter) return;
    if (msg.error !== undefined) {
      // File jobs fail with the read error itself (errno kept), for the source to name.
      if (waiter.onChunk) waiter.reject(Object.assign(new Error(msg.error), msg.errno ? { code: msg.errno } : {}));
      else waiter.reject(new RepriseError('REPRISE_INTERNAL', `worker task failed: ${msg.error}`));
    } else if (waiter.onChunk) {
      const { last, ...result } = msg.result as FileJobResult & { last?: WireChunk };
      if (last) this.deliver(waiter, fromWire(last));
      (waiter.chain ?? Promise.resolve()).then(() => waiter.resolve(result), waiter.reject);
    } else waiter.resolve(msg.result);
  }

  /** Blob buffers of file jobs the main thread is done with, on their way back to a worker. */
  private spares: ArrayBuffer[] = [];
  private spareBytes = 0;

  /**
   * Gives a file job's blob buffer back for the workers to seal into again (it travels with the
   * next message to a worker). Only whole, power-of-two buffers are kept, up to a few MiB.
   */
  reuse(buffer: ArrayBufferLike): void {
    const size = buffer.byteLength;
    if (!(buffer instanceof ArrayBuffer) || size < SPARE_MIN_BYTES || (size & (size - 1)) !== 0 || this.spareBytes + size > SPARES_IN_TRANSIT) return;
    this.spares.push(buffer);
    this.spareBytes += size;
  }

  private takeSpares(): ArrayBuffer[] {
    const spares = this.spares;
    this.spares = [];
    this.spareBytes = 0;
    return spares;
  }

  /**
   * Hands a file job's chunk to its consumer after the previous one. `taken` (the acknowledgement
   * the worker waits for) runs even when the consumer fails, then telling the worker to stop.
   */
  private deliver(waiter: Pending, chunk: JobChunk, taken?: (stop: boolean) => void): void {
    const onChunk = waiter.onChunk as NonNullable<Pending['onChunk']>;
    const chain = (waiter.chain ?? Promise.resolve()).then(() => onChunk(chunk));
    waiter.chain = chain;
    chain.then(
      () => taken?.(false),
      (err: unknown) => {
        taken?.(true);
        waiter.reject(err);
      },
    );
  }

  private failAll(err: unknown): void {
    for (const waiter of this.pending.values()) waiter.reject(new RepriseError('REPRISE_INTERNAL', 'worker thread failed', { cause: err }));
    this.pending.clear();
  }

  /** The least busy of the first `lanes` workers (started on first use). */
  private pick(lanes: number): number {
    const want = Math.max(1, Math.min(lanes, this.size));
    while (this.workers.length < want) this.startOne();
    let best = 0;
    for (let i = 1; i < want; i++) if ((this.load[i] ?? 0) < (this.load[best] ?? 0)) best = i;
    return best;
  }

  /** Runs a task on the least busy of the first `lanes` workers, or on worker `pinned`. */
  /** The least busy of the first `lanes` workers (or `pinned`), now counting `tasks` more tasks. */
  private assign(tasks: number, lanes: number, pinned?: number): Worker {
    const best = pinned ?? this.pick(lanes);
    const worker = this.workers[best] as Worker;
    if (this.load[best] === 0) worker.ref();
    this.load[best] = (this.load[best] ?? 0) + tasks;
    return worker;
  }

  private run<T>(task: Task, transfer: ArrayBuffer[], lanes: number, onChunk?: Pending['onChunk'], pinned?: number): Promise<T> {
    if (this.closed) return Promise.reject(closedError());
    const worker = this.assign(1, lanes, pinned);
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject, ...(onChunk ? { onChunk } : {}) });
      const spares = task.op === 'file' ? this.takeSpares() : [];
      worker.postMessage({ ...task, seq, spares }, [...transfer, ...spares]);
    });
  }

  /**
   * Computes the chunk id, compresses and seals one chunk in a worker. `data` is transferred
   * when it owns its whole ArrayBuffer (unusable afterwards). Throws REPRISE_INTERNAL if a worker dies.
   */
  async seal(data: Uint8Array): Promise<{ id: string; blob: Uint8Array }> {
    const buffer = transferable(data);
    const r = await this.run<{ id: string; buffer: ArrayBuffer; length: number }>({ op: 'seal', buffer, length: data.length }, [buffer], this.sealLanes);
    return { id: r.id, blob: new Uint8Array(r.buffer, 0, r.length) };
  }

  /** Chunk id in a worker; the bytes come back in the same buffer (the input view is detached). */
  async mac(data: Uint8Array): Promise<{ id: string; data: Uint8Array }> {
    const buffer = transferable(data);
    const r = await this.run<{ id: string; buffer: ArrayBuffer; length: number }>({ op: 'mac', buffer, length: data.length }, [buffer], this.sealLanes);
    return { id: r.id, data: new Uint8Array(r.buffer, 0, r.length) };
  }

  /**
   * Opens and verifies one blob in a worker: plaintext, or a reason string. The blob's buffer is
   * transferred when the view starts at 0 and owns it (a copy is sent otherwise).
   */
  async open(blob: Uint8Array, id: string): Promise<Uint8Array | string> {
    const buffer = transferable(blob);
    const offset = buffer === blob.buffer ? blob.byteOffset : 0;
    const r = await this.run<string | { buffer: ArrayBuffer; offset: number; length: number }>(
      { op: 'open', buffer, offset, length: blob.length, id },
      [buffer],
      this.size,
    );
    return typeof r === 'string' ? r : new Uint8Array(r.buffer, r.offset, r.length);
  }

  /**
   * Reads, hashes, chunks and (when `job.seal`) seals one local file in a worker. Chunks reach
   * `onChunk` in file order, one at a time: the worker sends at most a few ahead of the ones
   * `onChunk` has finished with. Rejects with the read failure (an Error with the errno `code`),
   * or with what `onChunk` throws.
   */
  readFile(job: FileJob, onChunk: (chunk: JobChunk) => Promise<void> | void, expectedSize?: number): Promise<FileJobResult> {
    if (expectedSize === undefined || expectedSize > BATCH_FILE_BYTES || this.closed) return this.run<FileJobResult>({ op: 'file', job }, [], this.size, onChunk);
    // Small files go to a worker in batches: one message and one reply for several files, instead
    // of a round trip (and a thread wake-up each way) per file.
    return new Promise<FileJobResult>((resolve, reject) => {
      const seq = ++this.seq;
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject, onChunk });
      this.batch.push({ seq, job });
      if (this.batch.length >= BATCH_FILES) this.flushBatch();
      else if (this.batch.length === 1) setImmediate(() => this.flushBatch());
    });
  }

  /** Small file jobs waiting to go to a worker together. */
  private batch: Array<{ seq: number; job: FileJob }> = [];

  private flushBatch(): void {
    if (this.batch.length === 0) return;
    const items = this.batch;
    this.batch = [];
    if (this.closed) {
      for (const { seq } of items) this.pending.get(seq)?.reject(closedError());
      return;
    }
    const spares = this.takeSpares();
    this.assign(items.length, this.size).postMessage({ op: 'files', items, spares }, spares);
  }

  /**
   * A worker for a file restored in several pieces (all of them must go to the same one): the
   * least busy, or lane `preferred` (modulo the pool's size). Never throws.
   */
  writerLane(preferred?: number): number {
    // pick also starts the workers, which a preferred lane needs too.
    const least = this.pick(this.size);
    return preferred === undefined ? least : preferred % this.size;
  }

  /**
   * Writes a piece of a restored file in worker `lane` (see file-writer.ts); `piece.bytes` is
   * transferred when it owns its buffer, else copied. Resolves to the bytes written (last piece),
   * nothing (other pieces), or the failure. Throws REPRISE_INTERNAL if the worker dies.
   */
  async writePiece(lane: number, piece: WritePiece): Promise<{ done?: number; renameFailed?: string; failure?: WriteFailure }> {
    const { bytes, ...rest } = piece;
    const buffer = transferable(bytes);
    const offset = buffer === bytes.buffer ? bytes.byteOffset : 0;
    return this.run({ op: 'write', ...rest, buffer, offset, length: bytes.length }, [buffer], this.size, undefined, lane);
  }

  /**
   * Verifies the pack in the local file `path` in a worker, which reads it itself: no copy through
   * the main thread, no pack-sized buffer. Undefined when the worker cannot read the file: the
   * caller then reads it through its backend, which names the failure. Throws REPRISE_INTERNAL if
   * a worker dies.
   */
  async verifyPackFile(path: string): Promise<(PackVerification & { size: number }) | undefined> {
    const r = await this.run<(PackVerification & { size: number }) | { unreadable: string }>({ op: 'verifyFile', path }, [], this.size);
    return 'unreadable' in r ? undefined : r;
  }

  /** Worker threads the pool runs at most. */
  get threads(): number {
    return this.size;
  }

  /** Starts every worker now rather than at first use, so their start-up overlaps the caller's own work. Idempotent. */
  startAll(): void {
    if (this.closed) return;
    while (this.workers.length < this.size) this.startOne();
  }

  /** Verifies a whole pack in a worker (the pack bytes are transferred); see BlobCodec.verifyPack. */
  verifyPack(pack: Uint8Array): Promise<PackVerification> {
    const owned = ownsBuffer(pack) ? pack : pack.slice();
    return this.run({ op: 'verify', pack: owned }, [owned.buffer as ArrayBuffer], this.size);
  }

  /** Terminates the workers. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.batch = [];
    this.failAll(new RepriseError('REPRISE_ABORTED', 'worker pool closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
