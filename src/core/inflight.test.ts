import { describe, expect, it } from 'vitest';
import { InflightWindow } from './inflight.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('InflightWindow', () => {
  it('waits for the oldest task once the count or the weight is over its bound', async () => {
    const window = new InflightWindow(2, 100);
    const a = deferred();
    const b = deferred();
    await window.add(a.promise, 10);
    await window.add(b.promise, 10);
    let third = false;
    const adding = window.add(Promise.resolve(), 10).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBe(false);
    a.resolve();
    await adding;
    expect(third).toBe(true);
    b.resolve();
    await window.drain();
    // A single task heavier than the bound still runs alone.
    await window.add(Promise.resolve(), 500);
  });

  it('rethrows the first failure at the next add or drain, and settle never throws', async () => {
    const window = new InflightWindow(8, 1000);
    const failing = deferred();
    await window.add(failing.promise, 1);
    failing.reject(new Error('first'));
    await new Promise((r) => setTimeout(r, 0));
    await expect(window.add(Promise.reject(new Error('second')), 1)).rejects.toThrow('first');
    await window.settle();
    await expect(window.drain()).rejects.toThrow('first');
  });
});
