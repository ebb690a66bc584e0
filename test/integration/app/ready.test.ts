import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createHealth, type Health } from '../../../src/app/health.js';
import { nodeMiddleware } from '../../../src/app/node.js';
import { request, startTcpProxy, waitFor, type TcpProxy } from './helpers.js';

const servers: Server[] = [];
const healths: Health[] = [];
const proxies: TcpProxy[] = [];

async function serve(health: Health): Promise<string> {
  healths.push(health);
  const middleware = nodeMiddleware({ health });
  const server = createServer((req, res) => middleware(req, res, () => res.end('app')));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await Promise.all(healths.splice(0).map((h) => h.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});
afterAll(() => undefined);

describe('/ready', () => {
  it('reports every kind of check, and not_configured for a check without URL', async () => {
    const upstream = await serve(createHealth());
    const base = await serve(
      createHealth({
        checks: {
          postgres: { type: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/postgres' },
          mysql: { type: 'mysql', url: 'mysql://root@127.0.0.1:3306' },
          redis: { type: 'redis', url: 'redis://127.0.0.1:6379' },
          http: { type: 'http', url: `${upstream}/health` },
          custom: () => true,
          missing: { type: 'mysql', url: undefined },
        },
        statistics: () => ({ requests: 42 }),
        integrity: { valid_json_percent: 99.5 },
        version: '1.2.3',
        // Generous here: this test is about the answers, and the first probe pays the driver import.
        timeoutMs: 2000,
      }),
    );
    const ready = await request(`${base}/ready`);
    expect(JSON.parse(ready.text)).toEqual({
      status: 'ok',
      checks: { postgres: 'ok', mysql: 'ok', redis: 'ok', http: 'ok', custom: 'ok', missing: 'not_configured' },
    });
    expect(ready.status).toBe(200);
    const detailed = JSON.parse((await request(`${base}/health/detailed`)).text);
    expect(detailed).toMatchObject({ status: 'ok', version: '1.2.3', statistics: { requests: 42 }, integrity: { valid_json_percent: 99.5 } });
    expect(detailed.checks.postgres.latency_ms).toBeGreaterThanOrEqual(0);
    expect(detailed.uptime_s).toBeGreaterThanOrEqual(0);
    expect((await request(`${base}/other`)).text).toBe('app');
  });

  it('a failing or hanging check gives 503 within the per-check timeout', async () => {
    const stalled = await startTcpProxy(5432);
    proxies.push(stalled);
    stalled.stall(true);
    const base = await serve(
      createHealth({
        timeoutMs: 300,
        checks: {
          hung: { type: 'postgres', url: `postgres://postgres@127.0.0.1:${stalled.port}/postgres` },
          failing: () => {
            throw new Error('boom');
          },
        },
      }),
    );
    const start = performance.now();
    const ready = await request(`${base}/ready`);
    expect(performance.now() - start).toBeLessThan(900);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.text)).toEqual({ status: 'error', checks: { hung: 'error', failing: 'error' } });
    const detailed = JSON.parse((await request(`${base}/health/detailed`)).text);
    expect(detailed.checks.hung.error).toContain('300 ms');
    expect(detailed.checks.failing.error).toBe('boom');
    // Liveness never touches a dependency.
    expect((await request(`${base}/health`)).status).toBe(200);
  });

  it('turns 503 when PostgreSQL is unreachable and 200 when it returns', async () => {
    let proxy = await startTcpProxy(5432);
    const port = proxy.port;
    proxies.push(proxy);
    const base = await serve(createHealth({ cacheMs: 100, checks: { db: { type: 'postgres', url: `postgres://postgres@127.0.0.1:${port}/postgres` } } }));
    expect((await request(`${base}/ready`)).status).toBe(200);
    await proxy.close();
    await waitFor(async () => (await request(`${base}/ready`)).status === 503, 3000, 50);
    expect(JSON.parse((await request(`${base}/ready`)).text).checks.db).toBe('error');
    proxy = await startTcpProxy(5432, { port });
    proxies.push(proxy);
    await waitFor(async () => (await request(`${base}/ready`)).status === 200, 3000, 50);
  });

  it('a storm of 1,000 probes makes only a handful of database queries', async () => {
    const proxy = await startTcpProxy(5432, { countPg: true });
    proxies.push(proxy);
    const base = await serve(createHealth({ checks: { db: { type: 'postgres', url: `postgres://postgres@127.0.0.1:${proxy.port}/postgres` } } }));
    const start = performance.now();
    const statuses: number[] = [];
    // 50 concurrent clients, 20 probes each.
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        for (let i = 0; i < 20; i++) statuses.push((await request(`${base}/ready`)).status);
      }),
    );
    const elapsed = performance.now() - start;
    expect(statuses.length).toBe(1000);
    expect(statuses.every((s) => s === 200)).toBe(true);
    // One query per cache period (1 s) at most, plus the first.
    expect(proxy.queries()).toBeGreaterThanOrEqual(1);
    expect(proxy.queries()).toBeLessThanOrEqual(Math.ceil(elapsed / 1000) + 1);
    expect(proxy.queries()).toBeLessThanOrEqual(5);
    console.info(`probe storm: 1000 /ready in ${Math.round(elapsed)} ms -> ${proxy.queries()} database queries`);
  });
});
