import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as nodeCrypto from 'node:crypto';
import * as zstd from 'zstd-napi';
import { RepriseError } from '../core/errors.js';
import { createBlobCodec, type BlobCodec, type PackVerification } from './compress.js';
import { ZSTD_LEVEL } from './format.js';

/**
 * A small pool of worker threads running the blob codec, so compression, encryption and
 * verification use the cores the main thread (chunking, hashing) leaves free. The worker
 * source is built from `createBlobCodec`'s own text: one implementation, no build step, and it
 * runs the same from TypeScript sources (tests) and from dist/.
 */

type Task =
  | { op: 'seal'; data: Uint8Array }
  | { op: 'open'; blob: Uint8Array; id: string }
  | { op: 'verify'; pack: Uint8Array; packId: string };

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

function workerSource(): string {
  return `
const { parentPort, workerData } = require('node:worker_threads');
const createBlobCodec = ${createBlobCodec.toString()};
const codec = createBlobCodec({ crypto: require('node:crypto'), zstd: require(workerData.zstdPath), zstdLevel: workerData.zstdLevel });
const encKey = Buffer.from(workerData.encKey);
const macKey = Buffer.from(workerData.macKey);
parentPort.on('message', (msg) => {
  try {
    if (msg.op === 'seal') {
      const blob = codec.sealBlob(encKey, msg.data);
      const copy = blob.byteOffset === 0 && blob.byteLength === blob.buffer.byteLength ? blob : Uint8Array.prototype.slice.call(blob);
      parentPort.postMessage({ seq: msg.seq, result: copy }, [copy.buffer]);
    } else if (msg.op === 'open') {
      const out = codec.openBlob(encKey, macKey, msg.blob, msg.id);
      parentPort.postMessage({ seq: msg.seq, result: out });
    } else {
      const report = codec.verifyPack(encKey, macKey, msg.pack, msg.packId);
      report.entries = undefined;
      parentPort.postMessage({ seq: msg.seq, result: report });
    }
  } catch (err) {
    parentPort.postMessage({ seq: msg.seq, error: String(err && err.stack || err) });
  }
});`;
}

/** Keys a pool works with; copied into each worker at start. */
export interface PoolKeys {
  encKey: Uint8Array;
  macKey: Uint8Array;
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

  /** Tasks queued or running in workers. */
  get inFlight(): number {
    return this.pending.size;
  }

  private start(): void {
    const zstdPath = createRequire(import.meta.url).resolve('zstd-napi');
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(workerSource(), {
        eval: true,
        workerData: { zstdPath, zstdLevel: ZSTD_LEVEL, encKey: this.keys.encKey, macKey: this.keys.macKey },
      });
      worker.on('message', (msg: { seq: number; result?: unknown; error?: string }) => {
        const waiter = this.pending.get(msg.seq);
        this.pending.delete(msg.seq);
        this.load[i] = (this.load[i] ?? 1) - 1;
        if (this.load[i] === 0) worker.unref();
        if (!waiter) return;
        if (msg.error !== undefined) waiter.reject(new RepriseError('REPRISE_INTERNAL', `worker task failed: ${msg.error}`));
        else waiter.resolve(msg.result);
      });
      worker.on('error', (err) => this.failAll(err));
      worker.unref();
      this.workers.push(worker);
      this.load.push(0);
    }
  }

  private failAll(err: unknown): void {
    for (const waiter of this.pending.values()) waiter.reject(new RepriseError('REPRISE_INTERNAL', 'worker thread failed', { cause: err }));
    this.pending.clear();
  }

  private run<T>(task: Task, transfer: ArrayBuffer[]): Promise<T> {
    if (this.closed) return Promise.reject(new RepriseError('REPRISE_INTERNAL', 'worker pool used after close'));
    if (this.workers.length === 0) this.start();
    let best = 0;
    for (let i = 1; i < this.workers.length; i++) if ((this.load[i] ?? 0) < (this.load[best] ?? 0)) best = i;
    const worker = this.workers[best] as Worker;
    if (this.load[best] === 0) worker.ref();
    this.load[best] = (this.load[best] ?? 0) + 1;
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...task, seq }, transfer);
    });
  }

  /**
   * Compresses and seals one chunk in a worker. `data` must own its whole ArrayBuffer: it is
   * transferred (unusable afterwards). Throws REPRISE_INTERNAL if a worker dies.
   */
  seal(data: Uint8Array): Promise<Uint8Array> {
    const owned = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
    return this.run({ op: 'seal', data: owned }, [owned.buffer as ArrayBuffer]);
  }

  /** Opens and verifies one blob in a worker: plaintext, or a reason string. */
  open(blob: Uint8Array, id: string): Promise<Uint8Array | string> {
    return this.run({ op: 'open', blob, id }, []);
  }

  /** Verifies a whole pack in a worker (the pack bytes are transferred). */
  verifyPack(pack: Uint8Array, packId: string): Promise<PackVerification> {
    const owned = pack.byteOffset === 0 && pack.byteLength === pack.buffer.byteLength ? pack : pack.slice();
    return this.run({ op: 'verify', pack: owned, packId }, [owned.buffer as ArrayBuffer]);
  }

  /** Terminates the workers. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new RepriseError('REPRISE_ABORTED', 'worker pool closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
