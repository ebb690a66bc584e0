import { StorageError, type Backend, type ByteRange, type ObjectInfo, type PutOptions } from '../backend.js';

/** A backend held in a Map: for tests and for benchmarks that must leave disk out. */
export class MemoryBackend implements Backend {
  readonly location: string;
  private readonly objects = new Map<string, Uint8Array>();

  constructor(name = 'memory') {
    this.location = `memory://${name}`;
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    if (options.createOnly && this.objects.has(key)) {
      throw new StorageError('exists', `object already exists: ${key}`, { key });
    }
    this.objects.set(key, Uint8Array.from(body));
  }

  async get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    const body = this.objects.get(key);
    if (!body) throw new StorageError('not_found', `no such object: ${key}`, { key });
    if (!range) return Uint8Array.from(body);
    if (range.offset + range.length > body.length) {
      throw new StorageError('fatal', `range ${range.offset}+${range.length} beyond end of ${key} (${body.length} bytes)`, { key });
    }
    return body.slice(range.offset, range.offset + range.length);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const body = this.objects.get(key);
    return body ? { key, size: body.length } : undefined;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const [key, body] of [...this.objects]) {
      if (key.startsWith(prefix)) yield { key, size: body.length };
    }
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  async close(): Promise<void> {}

  /** Test helper: direct access to stored bytes (e.g. to flip one and test detection). */
  raw(key: string): Uint8Array | undefined {
    return this.objects.get(key);
  }
}
