import { describe, expect, it } from 'vitest';
import { StorageError, type Backend, type ByteRange, type ObjectInfo, type PutOptions, type StorageErrorKind } from './backend.js';
import { MemoryBackend } from './memory/index.js';
import { withRetry } from './retry.js';

/** A backend that fails the next N calls of each operation with a given kind, then delegates. */
class FlakyBackend implements Backend {
  readonly location = 'flaky://';
  readonly inner = new MemoryBackend();
  readonly calls: string[] = [];
  failures: Array<{ op: string; kind: StorageErrorKind; afterWrite?: boolean }> = [];
  /** For list: fail after yielding this many entries. */
  listFailAfter: number | undefined;

  private maybeFail(op: string): { afterWrite: boolean } {
    this.calls.push(op);
    const at = this.failures.findIndex((f) => f.op === op);
    if (at < 0) return { afterWrite: false };
    const [failure] = this.failures.splice(at, 1);
    if (failure?.afterWrite) return { afterWrite: true };
    throw new StorageError(failure?.kind ?? 'fatal', `${op} failed (injected)`);
  }

  async put(key: string, body: Uint8Array, options?: PutOptions): Promise<void> {
    const { afterWrite } = this.maybeFail('put');
    await this.inner.put(key, body, options);
    // The write landed but the reply was lost.
    if (afterWrite) throw new StorageError('transient', 'connection reset after write (injected)', { key });
  }
  async get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    this.maybeFail('get');
    return this.inner.get(key, range, signal);
  }
  async stat(key: string): Promise<ObjectInfo | undefined> {
    this.maybeFail('stat');
    return this.inner.stat(key);
  }
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.maybeFail('list');
    let n = 0;
    for await (const info of this.inner.list(prefix)) {
      if (this.listFailAfter !== undefined && n === this.listFailAfter) {
        this.listFailAfter = undefined;
        throw new StorageError('transient', 'list page failed (injected)');
      }
      n++;
      yield info;
    }
  }
  async delete(key: string): Promise<void> {
    this.maybeFail('delete');
    return this.inner.delete(key);
  }
  async close(): Promise<void> {}
}

function setup(retries = 5): { flaky: FlakyBackend; backend: Backend; delays: number[] } {
  const flaky = new FlakyBackend();
  const delays: number[] = [];
  const backend = withRetry(flaky, {
    retries,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    random: () => 0.999,
    sleep: async (ms) => {
      delays.push(ms);
    },
  });
  return { flaky, backend, delays };
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('withRetry', () => {
  it('retries transient failures with capped exponential backoff until success', async () => {
    const { flaky, backend, delays } = setup();
    await flaky.inner.put('k', bytes('v'));
    flaky.failures = Array.from({ length: 5 }, () => ({ op: 'get', kind: 'transient' as const }));
    expect(new TextDecoder().decode(await backend.get('k'))).toBe('v');
    expect(flaky.calls.filter((c) => c === 'get').length).toBe(6);
    // Ceilings 100, 200, 400, 800, then capped at 1000; full jitter takes random() of each.
    expect(delays).toEqual([99, 199, 399, 799, 999]);
  });

  it('gives up after `retries` and throws the last transient error', async () => {
    const { flaky, backend } = setup(2);
    flaky.failures = Array.from({ length: 3 }, () => ({ op: 'stat', kind: 'transient' as const }));
    await expect(backend.stat('k')).rejects.toMatchObject({ kind: 'transient' });
    expect(flaky.calls).toEqual(['stat', 'stat', 'stat']);
  });

  it.each(['not_found', 'permission', 'exists', 'fatal'] as const)('never retries %s', async (kind) => {
    const { flaky, backend, delays } = setup();
    flaky.failures = [{ op: 'delete', kind }];
    await expect(backend.delete('k')).rejects.toMatchObject({ kind });
    expect(flaky.calls).toEqual(['delete']);
    expect(delays).toEqual([]);
  });

  it('uses jitter: delays are random within the ceiling', async () => {
    const flaky = new FlakyBackend();
    const delays: number[] = [];
    const randoms = [0, 0.5];
    const backend = withRetry(flaky, { baseDelayMs: 200, random: () => randoms.shift() ?? 0, sleep: async (ms) => void delays.push(ms) });
    flaky.failures = [
      { op: 'stat', kind: 'transient' },
      { op: 'stat', kind: 'transient' },
    ];
    await backend.stat('k');
    expect(delays).toEqual([0, 200]);
  });

  it('restarts a list that fails mid-way without yielding any key twice', async () => {
    const { flaky, backend } = setup();
    for (let i = 0; i < 10; i++) await flaky.inner.put(`p/${i}`, bytes(String(i)));
    flaky.listFailAfter = 4;
    const keys: string[] = [];
    for await (const info of backend.list('p/')) keys.push(info.key);
    expect(keys.length).toBe(10);
    expect(new Set(keys).size).toBe(10);
    expect(flaky.calls.filter((c) => c === 'list').length).toBe(2);
  });

  it('accepts `exists` on a createOnly retry when its own earlier attempt landed', async () => {
    const { flaky, backend } = setup();
    flaky.failures = [{ op: 'put', kind: 'transient', afterWrite: true }];
    await backend.put('lock', bytes('mine'), { createOnly: true });
    expect(new TextDecoder().decode(await flaky.inner.get('lock'))).toBe('mine');
  });

  it('still reports `exists` on a createOnly retry when someone else wrote the key', async () => {
    const { flaky, backend } = setup();
    await flaky.inner.put('lock', bytes('theirs'));
    flaky.failures = [{ op: 'put', kind: 'transient' }];
    await expect(backend.put('lock', bytes('mine'), { createOnly: true })).rejects.toMatchObject({ kind: 'exists' });
  });

  it('reports `exists` at once on a first createOnly attempt', async () => {
    const { flaky, backend } = setup();
    await flaky.inner.put('lock', bytes('mine'));
    await expect(backend.put('lock', bytes('mine'), { createOnly: true })).rejects.toMatchObject({ kind: 'exists' });
    expect(flaky.calls).toEqual(['put']);
  });

  it('stops waiting when the signal aborts during backoff', async () => {
    const flaky = new FlakyBackend();
    const backend = withRetry(flaky, { baseDelayMs: 60_000, random: () => 0.99 });
    flaky.failures = [{ op: 'get', kind: 'transient' }];
    const ac = new AbortController();
    const started = Date.now();
    const pending = backend.get('k', undefined, ac.signal);
    setTimeout(() => ac.abort(), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
