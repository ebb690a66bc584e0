import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableKillswitch, enableKillswitch, killswitchStatus } from '../../../src/killswitch/api.js';
import { openModeStore } from '../../../src/killswitch/open-store.js';
import type { ModeStore } from '../../../src/killswitch/store.js';
import { useBuiltLib, request, spawnNode, suffix, waitFor, type Spawned } from './helpers.js';

const APP = path.join(import.meta.dirname, 'fixtures/app.mjs');
const libDir = useBuiltLib();

const stores = [
  { kind: 'redis', url: 'redis://127.0.0.1:6379/0' },
  { kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/postgres' },
] as const;

describe.each(stores)('three app processes sharing a $kind store', ({ kind, url }) => {
  const key = kind === 'redis' ? `reprise-test:ks:${suffix()}` : `test-${suffix()}`;
  let apps: Spawned[] = [];
  let store: ModeStore;

  beforeAll(async () => {
    store = await openModeStore(url, process.cwd(), { key });
    apps = await Promise.all([0, 1, 2].map(() => spawnNode(APP, { LIB: libDir(), STORE: url, KEY: key })));
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.kill()));
    await store?.close();
    if (kind === 'redis') {
      const r = new Redis(url);
      await r.del(key);
      r.disconnect();
    } else {
      const c = new pg.Client(url);
      await c.connect();
      await c.query('DELETE FROM reprise_killswitch WHERE name = $1', [key]);
      await c.end();
    }
  });

  const statuses = (p = '/', init: RequestInit = {}) => Promise.all(apps.map((a) => request(`http://127.0.0.1:${a.port}${p}`, init).then((r) => r.status)));

  it('maintenance reaches every instance within 1 s, and disable brings them back', async () => {
    expect(await statuses()).toEqual([200, 200, 200]);
    const start = performance.now();
    await enableKillswitch(store, { mode: 'maintenance', reason: 'restore', message: 'Back soon', by: 'test@host' });
    await waitFor(async () => (await statuses()).every((s) => s === 503), 3000, 10);
    const elapsed = performance.now() - start;
    expect(elapsed).toBeLessThan(1000);

    const api = await request(`http://127.0.0.1:${apps[0]!.port}/x`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(503);
    expect(Number(api.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(JSON.parse(api.text)).toMatchObject({ error: 'maintenance', message: 'Back soon', reason: 'restore' });
    const page = await request(`http://127.0.0.1:${apps[1]!.port}/x`, { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.text).toContain('Back soon');
    // Probes and the operator still get through.
    expect(await statuses('/health')).toEqual([200, 200, 200]);
    expect(await statuses('/', { headers: { 'x-reprise-bypass': 'let-me-in' } })).toEqual([200, 200, 200]);
    expect(await statuses('/', { headers: { cookie: 'a=b; reprise_bypass=let-me-in' } })).toEqual([200, 200, 200]);
    expect(await statuses('/', { headers: { 'x-reprise-bypass': 'wrong' } })).toEqual([503, 503, 503]);
    const detailed = JSON.parse((await request(`http://127.0.0.1:${apps[2]!.port}/health/detailed`)).text);
    expect(detailed.killswitch).toMatchObject({ mode: 'maintenance', reason: 'restore', store: { status: 'ok' } });

    expect(await killswitchStatus(store)).toMatchObject({ mode: 'maintenance', reason: 'restore', by: 'test@host', until: null });
    const offStart = performance.now();
    await disableKillswitch(store, 'test@host');
    await waitFor(async () => (await statuses()).every((s) => s === 200), 3000, 10);
    expect(performance.now() - offStart).toBeLessThan(1000);
    expect((await killswitchStatus(store)).mode).toBe('off');
  });

  it('read_only blocks POST and passes GET', async () => {
    await enableKillswitch(store, { mode: 'read_only', reason: 'migration', by: 'test' });
    await waitFor(async () => (await statuses('/', { method: 'POST', body: 'x' })).every((s) => s === 503), 3000, 10);
    expect(await statuses('/', { method: 'GET' })).toEqual([200, 200, 200]);
    expect(await statuses('/', { method: 'HEAD' })).toEqual([200, 200, 200]);
    expect(await statuses('/', { method: 'DELETE' })).toEqual([503, 503, 503]);
    await disableKillswitch(store, 'test');
    await waitFor(async () => (await statuses('/', { method: 'POST', body: 'x' })).every((s) => s === 200), 3000, 10);
  });

  it('degraded rate-limits each client and turns non-critical features off', async () => {
    const app = `http://127.0.0.1:${apps[0]!.port}`;
    expect(JSON.parse((await request(`${app}/feature/recommendations`)).text)).toEqual({ enabled: true });
    await enableKillswitch(store, { mode: 'degraded', reason: 'load', by: 'test' });
    await waitFor(async () => JSON.parse((await request(`${app}/feature/recommendations`)).text).enabled === false, 3000, 10);
    // 5 per second per client: a fast burst of 20 spans at most two windows, so at most 10 pass.
    const start = performance.now();
    const codes: number[] = [];
    for (let i = 0; i < 20; i++) codes.push((await request(`${app}/`)).status);
    expect(performance.now() - start).toBeLessThan(1000);
    expect(codes.filter((c) => c === 200).length).toBeLessThanOrEqual(10);
    expect(codes.filter((c) => c === 429).length).toBeGreaterThanOrEqual(10);
    expect(codes.every((c) => c === 200 || c === 429)).toBe(true);
    const limited = await request(`${app}/`, { headers: { accept: 'application/json' } });
    if (limited.status === 429) expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    await disableKillswitch(store, 'test');
    await waitFor(async () => JSON.parse((await request(`${app}/feature/recommendations`)).text).enabled === true, 3000, 10);
  });

  it('a mode with an expiry lapses by itself', async () => {
    await enableKillswitch(store, { mode: 'maintenance', reason: 'short', by: 'test', until: new Date(Date.now() + 1200) });
    await waitFor(async () => (await statuses()).every((s) => s === 503), 3000, 10);
    await waitFor(async () => (await statuses()).every((s) => s === 200), 3000, 20);
    expect((await killswitchStatus(store)).mode).toBe('off');
  });
});
