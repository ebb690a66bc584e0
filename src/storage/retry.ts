import { StorageError, type Backend, type ByteRange, type ObjectInfo, type PutOptions } from './backend.js';

export interface RetryOptions {
  /** Further attempts after the first (default 5). */
  retries?: number;
  /** Backoff ceiling for the first retry; doubles each time (default 200 ms). */
  baseDelayMs?: number;
  /** Largest backoff ceiling (default 10 s). */
  maxDelayMs?: number;
  /** Waits `ms`; rejects with the signal's reason when aborted. Passed in by tests to avoid real waits. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** A number in [0, 1) for jitter (default Math.random). */
  random?: () => number;
  /** Told about each retry, e.g. to log it. */
  onRetry?: (info: { op: string; key: string; attempt: number; delayMs: number; error: StorageError }) => void;
}

/**
 * Wraps `backend` so that calls failing with a StorageError of kind `transient` are retried with
 * exponential backoff and full jitter; every other failure (not_found, permission, exists,
 * fatal, aborts) is thrown at once. A createOnly put whose earlier attempt may have landed
 * before its reply was lost accepts `exists` when the stored bytes equal its own. A list that
 * fails mid-way restarts and skips keys already yielded. Never throws itself.
 */
export function withRetry(backend: Backend, options: RetryOptions = {}): Backend {
  return new RetryingBackend(backend, options);
}

class RetryingBackend implements Backend {
  readonly location: string;
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly inner: Backend,
    private readonly options: RetryOptions,
  ) {
    this.location = inner.location;
    this.retries = options.retries ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.sleep = options.sleep ?? abortableSleep;
    this.random = options.random ?? Math.random;
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    let attempted = false;
    await this.attempt('put', key, options.signal, async () => {
      try {
        await this.inner.put(key, body, options);
      } catch (err) {
        if (attempted && options.createOnly && isKind(err, 'exists') && (await this.holds(key, body, options.signal))) return;
        throw err;
      } finally {
        attempted = true;
      }
    });
  }

  get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    return this.attempt('get', key, signal, () => this.inner.get(key, range, signal));
  }

  stat(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    return this.attempt('stat', key, signal, () => this.inner.stat(key, signal));
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    const seen = new Set<string>();
    for (let attempt = 0; ; attempt++) {
      try {
        for await (const info of this.inner.list(prefix, signal)) {
          if (seen.has(info.key)) continue;
          seen.add(info.key);
          yield info;
        }
        return;
      } catch (err) {
        await this.backoffOrThrow(err, 'list', prefix, attempt, signal);
      }
    }
  }

  delete(key: string, signal?: AbortSignal): Promise<void> {
    return this.attempt('delete', key, signal, () => this.inner.delete(key, signal));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Direct file reads are not retried: their caller falls back to `get`, which is. */
  localFile(key: string): string | undefined {
    return this.inner.localFile?.(key);
  }

  private async attempt<T>(op: string, key: string, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        await this.backoffOrThrow(err, op, key, attempt, signal);
      }
    }
  }

  private async backoffOrThrow(err: unknown, op: string, key: string, attempt: number, signal: AbortSignal | undefined): Promise<void> {
    if (!(err instanceof StorageError) || err.kind !== 'transient' || attempt >= this.retries || signal?.aborted) throw err;
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** attempt);
    const delayMs = Math.floor(this.random() * ceiling);
    this.options.onRetry?.({ op, key, attempt: attempt + 1, delayMs, error: err });
    await this.sleep(delayMs, signal);
  }

  /** True when `key` already holds exactly `body` (our own earlier attempt landed). */
  private async holds(key: string, body: Uint8Array, signal: AbortSignal | undefined): Promise<boolean> {
    const info = await this.inner.stat(key, signal);
    if (!info || info.size !== body.length) return false;
    const stored = await this.inner.get(key, undefined, signal);
    return Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength).equals(body);
  }
}

function isKind(err: unknown, kind: StorageError['kind']): boolean {
  return err instanceof StorageError && err.kind === kind;
}

/** setTimeout as a promise that rejects with the signal's reason when aborted. */
function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
