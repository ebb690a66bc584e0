import type { Backend, ByteRange, ObjectInfo, PutOptions } from './backend.js';

/**
 * A backend created on first use: heavy clients (the AWS SDK) are imported only by commands that
 * reach the storage, which keeps every other command's start-up fast. Throws what `create` throws,
 * at the first call.
 */
export class LazyBackend implements Backend {
  readonly location: string;
  private backend: Promise<Backend> | undefined;

  constructor(
    location: string,
    private readonly create: () => Promise<Backend>,
  ) {
    this.location = location;
  }

  private get real(): Promise<Backend> {
    this.backend ??= this.create();
    return this.backend;
  }

  async put(key: string, body: Uint8Array, options?: PutOptions): Promise<void> {
    return (await this.real).put(key, body, options);
  }

  async get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    return (await this.real).get(key, range, signal);
  }

  async stat(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    return (await this.real).stat(key, signal);
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    yield* (await this.real).list(prefix, signal);
  }

  async delete(key: string, signal?: AbortSignal): Promise<void> {
    return (await this.real).delete(key, signal);
  }

  /** Closes the backend if it was ever created. Idempotent. */
  async close(): Promise<void> {
    if (this.backend) await (await this.backend).close();
  }
}
