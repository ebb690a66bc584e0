import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastifyReprise } from '../../../src/app/fastify.js';
import { honoMiddleware } from '../../../src/app/fetch.js';
import { createHealth } from '../../../src/app/health.js';
import { createKillswitch, type Killswitch } from '../../../src/app/killswitch.js';
import { expressMiddleware, withReprise } from '../../../src/app/node.js';
import { disableKillswitch, enableKillswitch } from '../../../src/killswitch/api.js';
import { FileModeStore } from '../../../src/killswitch/file/index.js';
import { request, waitFor } from './helpers.js';

let dir: string;
let store: FileModeStore;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'reprise-fw-'));
  store = new FileModeStore(path.join(dir, 'killswitch.json'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Started {
  base: string;
  stop: () => Promise<void>;
}

const frameworks: Record<string, (ks: Killswitch) => Promise<Started>> = {
  'node:http': async (killswitch) => {
    const health = createHealth({ killswitch });
    const server = createServer(withReprise((_req, res) => res.end('hello'), { health, killswitch }));
    const base = await listen(server);
    return { base, stop: () => new Promise((r) => server.close(() => r())) };
  },
  express: async (killswitch) => {
    const app = express();
    app.use(expressMiddleware({ health: createHealth({ killswitch }), killswitch }));
    app.all('/{*path}', (_req, res) => {
      res.send('hello');
    });
    const server = createServer(app);
    const base = await listen(server);
    return { base, stop: () => new Promise((r) => server.close(() => r())) };
  },
  fastify: async (killswitch) => {
    const app = Fastify();
    await app.register(fastifyReprise as never, { health: createHealth({ killswitch }), killswitch });
    app.all('/*', async () => 'hello');
    app.all('/', async () => 'hello');
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    return { base: `http://127.0.0.1:${port}`, stop: () => app.close() };
  },
  hono: async (killswitch) => {
    const app = new Hono();
    app.use('*', honoMiddleware({ health: createHealth({ killswitch }), killswitch }) as never);
    app.all('*', (c) => c.text('hello'));
    const server = await new Promise<Server>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { base, stop: () => new Promise((r) => server.close(() => r())) };
  },
};

describe.each(Object.keys(frameworks))('%s adapter', (name) => {
  it('serves health, follows the file store and applies maintenance and read_only', async () => {
    await disableKillswitch(store, 'test');
    const killswitch = createKillswitch({ store, bypassToken: 'op', rateLimit: { requests: 2, perMs: 60_000 } });
    await killswitch.ready;
    const app = await frameworks[name]!(killswitch);
    try {
      expect(await request(`${app.base}/things?x=1`)).toMatchObject({ status: 200, text: 'hello' });
      expect((await request(`${app.base}/ready`)).status).toBe(200);

      await enableKillswitch(store, { mode: 'maintenance', reason: 'fw test', message: 'Upgrading', by: 'test' });
      const elapsed = await waitFor(async () => (await request(`${app.base}/things`)).status === 503, 3000, 10);
      expect(elapsed).toBeLessThan(1000);
      const json = await request(`${app.base}/things`, { headers: { accept: 'application/json' } });
      expect(JSON.parse(json.text)).toMatchObject({ error: 'maintenance', message: 'Upgrading' });
      expect(json.headers.get('retry-after')).toBe('300');
      const html = await request(`${app.base}/things`, { headers: { accept: 'text/html' } });
      expect(html.text).toContain('<h1>Down for maintenance</h1>');
      expect((await request(`${app.base}/health`)).status).toBe(200);
      expect((await request(`${app.base}/things`, { headers: { 'x-reprise-bypass': 'op' } })).text).toBe('hello');

      await enableKillswitch(store, { mode: 'read_only', reason: 'fw test', by: 'test' });
      await waitFor(async () => (await request(`${app.base}/things`)).status === 200, 3000, 10);
      expect((await request(`${app.base}/things`, { method: 'POST', body: 'x' })).status).toBe(503);
      expect((await request(`${app.base}/things`, { method: 'PUT', body: 'x' })).status).toBe(503);

      await enableKillswitch(store, { mode: 'degraded', reason: 'fw test', by: 'test' });
      await waitFor(() => killswitch.mode === 'degraded', 3000, 10);
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await request(`${app.base}/things`)).status);
      expect(codes).toEqual([200, 200, 429, 429]);

      await disableKillswitch(store, 'test');
      await waitFor(async () => (await request(`${app.base}/things`, { method: 'POST', body: 'x' })).status === 200, 3000, 10);
    } finally {
      await app.stop();
      await killswitch.close();
    }
  });
});
