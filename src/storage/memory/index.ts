import { StorageError, type Backend, type ByteRange, type ObjectInfo, type PutOptions } from '../backend.js';
import { checkRange, rangeBeyondEnd } from '../range.js';

/**
 * A backend held in a Map: for tests and for benchmarks that must leave disk out. Every call is
 * atomic (single-threaded), so createOnly races have exactly one winner, as on disk.
 */
export class MemoryBackend implements Backend {
  readonly location: string;
  private readonly objects = new Map<string, Uint8Array>();

  constructor(name = 'memory') {
    this.location = `memory://${name}`;
  }

  /** Stores a copy of `body`. Throws StorageError `exists` (createOnly) or the signal's reason. Idempotent without createOnly. */
  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    if (options.createOnly && this.objects.has(key)) {
      throw new StorageError('exists', `object already exists: ${key}`, { key });
    }
    this.objects.set(key, Uint8Array.from(body));
  }

  /** A copy of the object or of a range. Throws StorageError `not_found`, `fatal` for a bad range, or the signal's reason. Idempotent. */
  async get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    if (range) checkRange(range, key);
    const body = this.objects.get(key);
    if (!body) throw new StorageError('not_found', `no such object: ${key}`, { key });
    if (!range) return Uint8Array.from(body);
    if (range.offset + range.length > body.length) throw rangeBeyondEnd(range, key, body.length);
    return body.slice(range.offset, range.offset + range.length);
  }

  /** Size of the object or undefined. Throws only the signal's reason. Idempotent. */
  async stat(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    signal?.throwIfAborted();
    const body = this.objects.get(key);
    return body ? { key, size: body.length } : undefined;
  }

  /** Objects under `prefix` as they were when listing started. Throws only the signal's reason. */
  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    signal?.throwIfAborted();
    for (const [key, body] of [...this.objects]) {
      signal?.throwIfAborted();
      if (key.startsWith(prefix)) yield { key, size: body.length };
    }
  }

  /** Removes the object; missing keys are fine. Throws only the signal's reason. Idempotent. */
  async delete(key: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.objects.delete(key);
  }

  /** Nothing to release; the objects stay (a reopened `memory://name` sees them). Idempotent. */
  async close(): Promise<void> {}

  /** Test helper: direct access to stored bytes (e.g. to flip one and test detection). */
  raw(key: string): Uint8Array | undefined {
    return this.objects.get(key);
  }

  /** Test helper: the keys stored under `prefix`, now. */
  keys(prefix = ''): string[] {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix));
  }
}
