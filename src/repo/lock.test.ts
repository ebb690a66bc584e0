import { afterEach, describe, expect, it, vi } from 'vitest';
import { isRepriseError } from '../core/errors.js';
import { MemoryBackend } from '../storage/memory/index.js';
import { Repository } from './repository.js';
import { initSmall } from '../../test/integration/repo/helpers.js';

const open: Repository[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

async function lockError(promise: Promise<unknown>): Promise<Error & { code?: string; hint?: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the lock to be refused');
}

describe('locks', () => {
  it('shared locks coexist; exclusive conflicts both ways and names the holder', async () => {
    const backend = new MemoryBackend();
    const a = await initSmall(backend, 'pw', { hostname: 'host-a' });
    open.push(a);
    const b = await Repository.open({ backend, password: 'pw', hostname: 'host-b' });
    open.push(b);
    const s1 = await a.lock('shared');
    const s2 = await b.lock('shared');
    const err = await lockError(b.lock('exclusive'));
    expect(isRepriseError(err, 'REPRISE_REPO_LOCKED')).toBe(true);
    expect(err.message).toMatch(/by host-a pid \d+/);
    expect(err.details?.stale).toBe(false);
    await s1.release();
    await s2.release();
    const ex = await b.lock('exclusive');
    const err2 = await lockError(a.lock('shared'));
    expect(err2.message).toContain('exclusively by host-b');
    await ex.release();
    await ex.release();
    // After a refused attempt no lock is left behind.
    const again = await a.lock('exclusive');
    await again.release();
    let count = 0;
    for await (const _ of backend.list('locks/')) count++;
    expect(count).toBe(0);
  });

  it('a lock not refreshed goes stale: named as stale, removed by removeStaleLocks, holder learns it lost it', async () => {
    const backend = new MemoryBackend();
    let now = 1_000_000;
    const clock = (): number => now;
    const holder = await Repository.init({ backend, password: 'pw', chunker: { avgSize: 1 << 14 }, workers: 1, clock, lockTiming: { refreshMs: 20, staleMs: 1000 } });
    open.push(holder);
    const other = await Repository.open({ backend, password: 'pw', clock, lockTiming: { refreshMs: 60_000, staleMs: 1000 } });
    open.push(other);
    const held = await holder.lock('shared');
    expect(await other.removeStaleLocks()).toBe(0);
    // The holder refreshes while its clock moves: never stale.
    now += 900;
    let lockKey: string | undefined;
    for await (const info of backend.list('locks/')) lockKey = info.key;
    const before = Buffer.from(backend.raw(lockKey!)!);
    // A refresh rewrites the lock (new nonce, new bytes).
    await vi.waitFor(() => expect(Buffer.from(backend.raw(lockKey!)!).equals(before)).toBe(false), { timeout: 5000, interval: 10 });
    now += 900;
    expect(await other.removeStaleLocks()).toBe(0);
    const live = await lockError(other.lock('exclusive'));
    expect(live.details?.stale).toBe(false);

    // A lock written by a process that died: nobody refreshes it.
    const dead = await other.lock('shared');
    (dead as unknown as { timer: NodeJS.Timeout }).timer.unref();
    clearInterval((dead as unknown as { timer: NodeJS.Timeout }).timer);
    await held.release();
    now += 5000;
    const stale = await lockError(holder.lock('exclusive'));
    expect(stale.details?.stale).toBe(true);
    expect(stale.hint).toContain('reprise unlock');
    expect(await holder.removeStaleLocks()).toBe(1);
    const held2 = await holder.lock('exclusive');
    await new Promise((r) => setTimeout(r, 60));
    expect(held2.signal.aborted).toBe(false);

    // Removing a live holder's lock (as `unlock` of a wrongly-stale lock would) makes it stop.
    for await (const info of backend.list('locks/')) await backend.delete(info.key);
    await vi.waitFor(() => expect(held2.signal.aborted).toBe(true), { timeout: 5000, interval: 10 });
    expect(isRepriseError(held2.signal.reason, 'REPRISE_LOCK_LOST')).toBe(true);
  });
});
