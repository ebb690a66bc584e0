import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableKillswitch, enableKillswitch } from '../../../src/killswitch/api.js';
import { openModeStore } from '../../../src/killswitch/open-store.js';
import { useBuiltLib, freePort, killChild, request, spawnNode, startTcpProxy, suffix, waitFor, type Spawned } from './helpers.js';

const APP = path.join(import.meta.dirname, 'fixtures/app.mjs');
const libDir = useBuiltLib();

/** Our own redis-server, so killing it never touches the shared one on 6379. */
async function startRedis(port: number): Promise<ChildProcess> {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const { Redis } = await import('ioredis');
  await waitFor(async () => {
    const r = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    r.on('error', () => undefined);
    try {
      await r.connect();
      return (await r.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      r.disconnect();
    }
  }, 5000, 50);
  return proc;
}

async function detailed(app: Spawned): Promise<{ killswitch: { mode: string; store: { status: string; error: string | null } } }> {
  return JSON.parse((await request(`http://127.0.0.1:${app.port}/health/detailed`)).text);
}

describe('store outage', () => {
  it('Redis stopped: the instance keeps its mode, reports the store degraded, and follows again once it is back', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    const url = `redis://127.0.0.1:${port}/0`;
    const store = await openModeStore(url, process.cwd(), { key: 'ks', timeoutMs: 1000 });
    const app = await spawnNode(APP, { LIB: libDir(), STORE: url, KEY: 'ks', POLL_MS: '500' });
    try {
      await enableKillswitch(store, { mode: 'maintenance', reason: 'outage test', by: 'test' });
      await waitFor(async () => (await request(`http://127.0.0.1:${app.port}/`)).status === 503, 2000);
      await killChild(redis);
      await waitFor(async () => (await detailed(app)).killswitch.store.status === 'degraded', 3000, 50);
      // Still closed well after the store went away: it never flips open by itself.
      await new Promise((r) => setTimeout(r, 1500));
      expect((await request(`http://127.0.0.1:${app.port}/`)).status).toBe(503);
      expect((await detailed(app)).killswitch).toMatchObject({ mode: 'maintenance', store: { status: 'degraded' } });
      expect(app.proc.exitCode).toBeNull();

      redis = await startRedis(port);
      await disableKillswitch(store, 'test');
      await waitFor(async () => (await request(`http://127.0.0.1:${app.port}/`)).status === 200, 5000, 50);
      expect((await detailed(app)).killswitch.store.status).toBe('ok');
    } finally {
      await app.kill();
      await store.close();
      await killChild(redis);
    }
  });

  it('PostgreSQL unreachable: the instance keeps its mode and catches up on changes made meanwhile', async () => {
    const key = `outage-${suffix()}`;
    const direct = 'postgres://postgres@127.0.0.1:5432/postgres';
    let proxy = await startTcpProxy(5432);
    const proxyPort = proxy.port;
    const store = await openModeStore(direct, process.cwd(), { key });
    const app = await spawnNode(APP, { LIB: libDir(), STORE: `postgres://postgres@127.0.0.1:${proxyPort}/postgres`, KEY: key, POLL_MS: '500' });
    try {
      await enableKillswitch(store, { mode: 'maintenance', reason: 'outage test', by: 'test' });
      await waitFor(async () => (await request(`http://127.0.0.1:${app.port}/`)).status === 503, 2000);
      await proxy.close();
      await waitFor(async () => (await detailed(app)).killswitch.store.status === 'degraded', 3000, 50);
      await new Promise((r) => setTimeout(r, 1000));
      expect((await request(`http://127.0.0.1:${app.port}/`)).status).toBe(503);
      expect(app.proc.exitCode).toBeNull();

      // Changed while this instance could not hear: it must learn it on reconnection.
      await enableKillswitch(store, { mode: 'read_only', reason: 'outage test', by: 'test' });
      expect((await request(`http://127.0.0.1:${app.port}/`)).status).toBe(503);
      proxy = await startTcpProxy(5432, { port: proxyPort });
      await waitFor(async () => (await request(`http://127.0.0.1:${app.port}/`)).status === 200, 5000, 50);
      expect((await request(`http://127.0.0.1:${app.port}/`, { method: 'POST', body: 'x' })).status).toBe(503);
      expect((await detailed(app)).killswitch).toMatchObject({ mode: 'read_only', store: { status: 'ok' } });
    } finally {
      await app.kill();
      await proxy.close();
      const c = new pg.Client(direct);
      await c.connect();
      await c.query('DELETE FROM reprise_killswitch WHERE name = $1', [key]);
      await c.end();
      await store.close();
    }
  });

  it('SIGTERM: /ready turns 503 at once while a request in flight finishes', async () => {
    const app = await spawnNode(APP, { LIB: libDir(), STORE: `${libDir()}/ks-${suffix()}.json`, DRAIN_MS: '1500' });
    try {
      expect((await request(`http://127.0.0.1:${app.port}/ready`)).status).toBe(200);
      const slow = request(`http://127.0.0.1:${app.port}/slow`);
      await new Promise((r) => setTimeout(r, 100));
      app.proc.kill('SIGTERM');
      await waitFor(async () => (await request(`http://127.0.0.1:${app.port}/ready`)).status === 503, 500, 10);
      expect((await request(`http://127.0.0.1:${app.port}/health`)).status).toBe(200);
      expect(await slow).toMatchObject({ status: 200, text: 'slow done' });
      await waitFor(() => app.proc.exitCode !== null, 5000);
      expect(app.proc.exitCode).toBe(0);
    } finally {
      await app.kill();
    }
  });
});
