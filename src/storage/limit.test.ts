import { describe, expect, it } from 'vitest';
import type { Backend, ByteRange, ObjectInfo } from './backend.js';
import { withConcurrency } from './limit.js';
import { MemoryBackend } from './memory/index.js';

/** Counts calls in flight; each call waits until released by the test. */
class GatedBackend extends MemoryBackend {
  inFlight = 0;
  maxInFlight = 0;
  private readonly waiters: Array<() => void> = [];

  private async hold<T>(call: () => Promise<T>): Promise<T> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.inFlight--;
    return call();
  }

  releaseAll(): number {
    const n = this.waiters.length;
    for (const w of this.waiters.splice(0)) w();
    return n;
  }

  override get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    return this.hold(() => super.get(key, range, signal));
  }

  override stat(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    return this.hold(() => super.stat(key, signal));
  }
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('withConcurrency', () => {
  it('keeps at most n calls in flight and runs all of them', async () => {
    const inner = new GatedBackend();
    await inner.put('k', new Uint8Array([7]));
    const backend: Backend = withConcurrency(inner, 3);
    const calls = Array.from({ length: 10 }, () => backend.get('k'));
    let released = 0;
    while (released < 10) {
      await tick();
      expect(inner.inFlight).toBeLessThanOrEqual(3);
      released += inner.releaseAll();
    }
    const results = await Promise.all(calls);
    expect(results.every((r) => r[0] === 7)).toBe(true);
    expect(inner.maxInFlight).toBe(3);
  });

  it('frees the slot when a call fails', async () => {
    const backend = withConcurrency(new MemoryBackend(), 1);
    await expect(backend.get('missing')).rejects.toMatchObject({ kind: 'not_found' });
    await backend.put('k', new Uint8Array([1]));
    expect((await backend.get('k'))[0]).toBe(1);
  });

  it('lets a queued caller leave by aborting, without taking a slot', async () => {
    const inner = new GatedBackend();
    const backend = withConcurrency(inner, 1);
    const first = backend.stat('a');
    const ac = new AbortController();
    const queued = backend.stat('b', ac.signal);
    await tick();
    ac.abort();
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    inner.releaseAll();
    await first;
    const third = backend.stat('c');
    await tick();
    expect(inner.releaseAll()).toBe(1);
    expect(await third).toBeUndefined();
  });

  it('counts a list as one call per entry fetched', async () => {
    const inner = new MemoryBackend();
    for (let i = 0; i < 5; i++) await inner.put(`p/${i}`, new Uint8Array(i));
    const backend = withConcurrency(inner, 1);
    const seen: string[] = [];
    for await (const info of backend.list('p/')) {
      seen.push(info.key);
      // The slot is free between entries: another call can run while the consumer works.
      expect(await backend.stat(info.key)).toEqual(info);
    }
    expect(seen.sort()).toEqual(['p/0', 'p/1', 'p/2', 'p/3', 'p/4']);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => withConcurrency(new MemoryBackend(), 0)).toThrow(RangeError);
    expect(() => withConcurrency(new MemoryBackend(), 1.5)).toThrow(RangeError);
  });
});
