import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError, type Backend, type ObjectInfo, type StorageErrorKind } from '../../../src/storage/backend.js';

export interface BackendUnderTest {
  backend: Backend;
  cleanup: () => Promise<void>;
}

export interface ConformanceOptions {
  /**
   * Whether createOnly is atomic against concurrent writers. False only for S3 servers that
   * ignore If-None-Match (the backend then falls back to HEAD + PUT). Default true.
   */
  atomicCreateOnly?: boolean;
}

/** SHA-256 hex of some bytes: round trips are compared by content. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every entry of a listing. */
export async function collect(entries: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const entry of entries) out.push(entry);
  return out;
}

/** Resolves to the StorageError kind a call failed with (fails the test when it did not fail). */
export async function failureKind(call: Promise<unknown>): Promise<StorageErrorKind> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the call to fail with a StorageError').toBeInstanceOf(StorageError);
  return (err as StorageError).kind;
}

const MiB = 1024 * 1024;

/**
 * The behaviour every Backend must have. `makeBackend` is called before each test and must
 * return an empty backend of its own (a fresh folder, bucket prefix or memory store).
 */
export function describeBackendConformance(
  name: string,
  makeBackend: () => Promise<BackendUnderTest>,
  options: ConformanceOptions = {},
): void {
  const atomicCreateOnly = options.atomicCreateOnly ?? true;

  describe(`Backend conformance: ${name}`, () => {
    let subject: BackendUnderTest;
    let b: Backend;

    beforeEach(async () => {
      subject = await makeBackend();
      b = subject.backend;
    });
    afterEach(async () => {
      await subject.backend.close();
      await subject.cleanup();
    });

    it('round-trips small, empty and 20 MiB objects by content', async () => {
      const small = new TextEncoder().encode('hello, reprise');
      const empty = new Uint8Array(0);
      const large = randomBytes(20 * MiB + 123);
      await b.put('small', small);
      await b.put('empty', empty);
      await b.put('large', large);
      expect(sha256(await b.get('small'))).toBe(sha256(small));
      expect((await b.get('empty')).length).toBe(0);
      const got = await b.get('large');
      expect(got.length).toBe(large.length);
      expect(sha256(got)).toBe(sha256(large));
      expect(await b.stat('large')).toEqual({ key: 'large', size: large.length });
      expect(await b.stat('empty')).toEqual({ key: 'empty', size: 0 });
    });

    it('reads byte ranges at the start, middle and end', async () => {
      const body = randomBytes(MiB + 7);
      await b.put('ranged', body);
      for (const [offset, length] of [
        [0, 10],
        [500_000, 65_536],
        [body.length - 13, 13],
        [body.length - 1, 1],
        [0, body.length],
      ] as const) {
        const got = await b.get('ranged', { offset, length });
        expect(sha256(got), `range ${offset}+${length}`).toBe(sha256(body.subarray(offset, offset + length)));
      }
      expect((await b.get('ranged', { offset: 100, length: 0 })).length).toBe(0);
    });

    it('refuses a range past the end instead of returning short data', async () => {
      await b.put('short', randomBytes(100));
      expect(await failureKind(b.get('short', { offset: 90, length: 20 }))).toBe('fatal');
      expect(await failureKind(b.get('short', { offset: 200, length: 1 }))).toBe('fatal');
    });

    it('stats present and absent objects', async () => {
      await b.put('here', randomBytes(321));
      expect(await b.stat('here')).toEqual({ key: 'here', size: 321 });
      expect(await b.stat('not-here')).toBeUndefined();
      expect(await b.stat('here/not-a-child')).toBeUndefined();
    });

    it('lists by prefix, with sizes, including nested keys', async () => {
      const keys = { 'a/1': 1, 'a/2': 2, 'a/b/3': 3, 'ab/4': 4, 'b/5': 5 };
      for (const [key, size] of Object.entries(keys)) await b.put(key, randomBytes(size));
      const keysOf = async (prefix: string): Promise<string[]> => (await collect(b.list(prefix))).map((e) => e.key).sort();
      expect(await keysOf('a/')).toEqual(['a/1', 'a/2', 'a/b/3']);
      expect(await keysOf('a')).toEqual(['a/1', 'a/2', 'a/b/3', 'ab/4']);
      expect(await keysOf('a/b/')).toEqual(['a/b/3']);
      expect(await keysOf('')).toEqual(['a/1', 'a/2', 'a/b/3', 'ab/4', 'b/5']);
      expect(await keysOf('zz')).toEqual([]);
      expect(await keysOf('a/1')).toEqual(['a/1']);
      const sizes = Object.fromEntries((await collect(b.list(''))).map((e) => [e.key, e.size]));
      expect(sizes).toEqual(keys);
    });

    it('lists more than 1000 objects (pagination) exactly once each', async () => {
      const count = 1010;
      const keys = Array.from({ length: count }, (_, i) => `many/${String(i).padStart(5, '0')}`);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < keys.length) {
          const key = keys[next++] as string;
          await b.put(key, new TextEncoder().encode(key));
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      await b.put('other/x', new Uint8Array(1));
      const listed = await collect(b.list('many/'));
      expect(listed.length).toBe(count);
      expect(new Set(listed.map((e) => e.key))).toEqual(new Set(keys));
      expect(listed.every((e) => e.size === e.key.length)).toBe(true);
    });

    it('deletes idempotently', async () => {
      await b.put('doomed', randomBytes(10));
      await b.delete('doomed');
      expect(await b.stat('doomed')).toBeUndefined();
      expect(await failureKind(b.get('doomed'))).toBe('not_found');
      await b.delete('doomed');
      await b.delete('never/existed');
      expect(await collect(b.list('doomed'))).toEqual([]);
    });

    it('fails get of a missing object with not_found', async () => {
      expect(await failureKind(b.get('missing'))).toBe('not_found');
      expect(await failureKind(b.get('missing', { offset: 0, length: 1 }))).toBe('not_found');
    });

    it('refuses a second createOnly put with exists and keeps the first body', async () => {
      const first = randomBytes(64);
      await b.put('lock', first, { createOnly: true });
      expect(await failureKind(b.put('lock', randomBytes(64), { createOnly: true }))).toBe('exists');
      expect(sha256(await b.get('lock'))).toBe(sha256(first));
    });

    it('overwrites with a plain put', async () => {
      await b.put('mutable', new TextEncoder().encode('one'));
      const second = randomBytes(5000);
      await b.put('mutable', second);
      expect(sha256(await b.get('mutable'))).toBe(sha256(second));
      expect((await b.stat('mutable'))?.size).toBe(5000);
    });

    it.runIf(atomicCreateOnly)('lets exactly one of concurrent createOnly writers win', async () => {
      const bodies = Array.from({ length: 8 }, () => randomBytes(256 * 1024));
      const results = await Promise.allSettled(bodies.map((body) => b.put('race', body, { createOnly: true })));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners.length).toBe(1);
      for (const r of results) {
        if (r.status === 'rejected') expect((r.reason as StorageError).kind).toBe('exists');
      }
      expect(sha256(await b.get('race'))).toBe(sha256(bodies[winners[0] as number] as Uint8Array));
    });

    it.runIf(!atomicCreateOnly)('concurrent createOnly without server support: at least one writer wins, losers see exists (no atomicity claimed)', async () => {
      const bodies = Array.from({ length: 8 }, () => randomBytes(256 * 1024));
      const results = await Promise.allSettled(bodies.map((body) => b.put('race', body, { createOnly: true })));
      expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
      for (const r of results) {
        if (r.status === 'rejected') expect((r.reason as StorageError).kind).toBe('exists');
      }
      // Which body survives, and whether it is whole, is up to the server when PUTs race (s3rver's
      // are not atomic, S3's are): only the size is checked here.
      expect((await b.stat('race'))?.size).toBe(256 * 1024);
    });

    it('honours an aborted signal on every call and stores nothing', async () => {
      await b.put('present', randomBytes(10));
      const ac = new AbortController();
      ac.abort();
      const { signal } = ac;
      const abortError = { name: 'AbortError' };
      await expect(b.put('aborted', randomBytes(10), { signal })).rejects.toMatchObject(abortError);
      await expect(b.put('aborted', randomBytes(10), { signal, createOnly: true })).rejects.toMatchObject(abortError);
      await expect(b.get('present', undefined, signal)).rejects.toMatchObject(abortError);
      await expect(b.stat('present', signal)).rejects.toMatchObject(abortError);
      await expect(b.delete('present', signal)).rejects.toMatchObject(abortError);
      await expect(collect(b.list('', signal))).rejects.toMatchObject(abortError);
      expect(await b.stat('aborted')).toBeUndefined();
      expect(await b.stat('present')).toEqual({ key: 'present', size: 10 });
    });

    it('leaves nothing or the whole object when a large put is aborted mid-way', async () => {
      const body = randomBytes(20 * MiB);
      const ac = new AbortController();
      const put = b.put('big-aborted', body, { signal: ac.signal });
      setTimeout(() => ac.abort(), 2);
      const outcome = await put.then(
        () => 'stored',
        (err: unknown) => (err as Error).name,
      );
      expect(['stored', 'AbortError']).toContain(outcome);
      const info = await b.stat('big-aborted');
      if (info) expect(sha256(await b.get('big-aborted'))).toBe(sha256(body));
      expect((await collect(b.list('big'))).map((e) => e.key)).toEqual(info ? ['big-aborted'] : []);
    });

    it('handles keys with slashes and unusual characters', async () => {
      const keys = ['deep/er/path/obj', 'data/0a/0a1b2c', 'snap shots/with space+plus=eq', 'x/ünïcode-ключ'];
      const bodies = new Map(keys.map((k) => [k, randomBytes(100)]));
      for (const [key, body] of bodies) await b.put(key, body);
      for (const [key, body] of bodies) expect(sha256(await b.get(key)), key).toBe(sha256(body));
      expect((await collect(b.list('deep/er/'))).map((e) => e.key)).toEqual(['deep/er/path/obj']);
      expect((await collect(b.list(''))).map((e) => e.key).sort()).toEqual([...keys].sort());
    });
  });
}
