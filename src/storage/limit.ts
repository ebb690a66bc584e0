import type { Backend, ByteRange, ObjectInfo, PutOptions } from './backend.js';

/**
 * Wraps `backend` so that at most `n` calls are in flight at once (a list counts as one call
 * while it fetches its next entry). Waiting callers are served first come, first served and may
 * leave the queue by aborting their signal. Throws RangeError when `n` is not a positive integer.
 */
export function withConcurrency(backend: Backend, n: number): Backend {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`concurrency must be a positive integer, got ${n}`);
  return new LimitedBackend(backend, new Gate(n));
}

class Gate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await call();
    } finally {
      this.release();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.active++;
        resolve();
      };
      const onAbort = (): void => {
        const at = this.waiting.indexOf(grant);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal?.reason);
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}

class LimitedBackend implements Backend {
  readonly location: string;

  constructor(
    private readonly inner: Backend,
    private readonly gate: Gate,
  ) {
    this.location = inner.location;
  }

  put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    return this.gate.run(() => this.inner.put(key, body, options), options.signal);
  }

  get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    return this.gate.run(() => this.inner.get(key, range, signal), signal);
  }

  stat(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    return this.gate.run(() => this.inner.stat(key, signal), signal);
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    const entries = this.inner.list(prefix, signal)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await this.gate.run(() => entries.next(), signal);
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await entries.return?.();
    }
  }

  delete(key: string, signal?: AbortSignal): Promise<void> {
    return this.gate.run(() => this.inner.delete(key, signal), signal);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
