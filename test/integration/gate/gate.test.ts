import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGate, type Gate } from '../../../src/gate/gate.js';
import { disableKillswitch, enableKillswitch } from '../../../src/killswitch/api.js';
import { FileModeStore } from '../../../src/killswitch/file/index.js';
import { killChild, request, waitFor, waitListening, type Spawned } from '../app/helpers.js';

let dir: string;
let store: FileModeStore;
let payload: Buffer;
let python: Spawned;
let node: { server: Server; base: string; release: () => void };
const stops: AbortController[] = [];
let healthStatus = 200;
// Resolved when the upstream sees the held request's connection close.
let heldClosed: Promise<void> = Promise.resolve();

/** A Node upstream: echoes headers, streams on demand, hashes uploads, echoes WebSocket messages. */
async function nodeUpstream(): Promise<typeof node> {
  let release: () => void = () => undefined;
  const server = createServer((req, res) => {
    if (req.url === '/headers') return void res.end(JSON.stringify(req.headers));
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
      release = () => res.end('second\n');
      return;
    }
    if (req.url === '/hold') {
      // Answers headers, then never finishes: only a cancelled upstream request ends it.
      heldClosed = new Promise((resolve) => res.on('close', () => resolve()));
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('held\n');
      return;
    }
    if (req.url === '/big') {
      res.writeHead(200, { 'content-length': payload.length });
      return void res.end(payload);
    }
    if (req.url === '/upload') {
      const hash = createHash('sha256');
      req.on('data', (c: Buffer) => hash.update(c));
      req.on('end', () => res.end(hash.digest('hex')));
      return;
    }
    if (req.url === '/health') {
      res.writeHead(healthStatus);
      return void res.end();
    }
    if (req.url === '/error') {
      res.writeHead(500);
      return void res.end('app error');
    }
    res.end(`socket ${req.socket.remotePort}`);
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo:${data.toString()}`)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, release: () => release() };
}

async function gateFor(upstream: string, healthUrl?: string): Promise<Gate> {
  const controller = new AbortController();
  stops.push(controller);
  return startGate({ listen: '127.0.0.1:0', upstream, store, healthUrl, signal: controller.signal, healthIntervalMs: 200, killswitch: { bypassToken: 'op' } });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'reprise-gate-'));
  store = new FileModeStore(path.join(dir, 'ks', 'killswitch.json'));
  await writeFile(path.join(dir, 'ks.json'), '');
  payload = randomBytes(2 * 1024 * 1024);
  await writeFile(path.join(dir, 'big.bin'), payload);
  // A real upstream in another language.
  python = await waitListening(spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', dir], { stdio: ['ignore', 'pipe', 'pipe'] }), /port (\d+)/);
  node = await nodeUpstream();
});

afterAll(async () => {
  for (const c of stops) c.abort();
  await python?.kill();
  node?.server.closeAllConnections();
  await new Promise((r) => node?.server.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe('gate', () => {
  it('forwards a Python upstream: bodies byte for byte, its own /health and /ready', async () => {
    const gate = await gateFor(`http://127.0.0.1:${python.port}`, `http://127.0.0.1:${python.port}/`);
    const base = `http://127.0.0.1:${gate.address.port}`;
    const response = await fetch(`${base}/big.bin`);
    expect(response.status).toBe(200);
    const body = Buffer.from(await response.arrayBuffer());
    expect(createHash('sha256').update(body).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
    expect((await request(`${base}/health`)).status).toBe(200);
    expect(JSON.parse((await request(`${base}/ready`)).text)).toMatchObject({ status: 'ok', upstream: 'ok', mode: 'off' });
  });

  it('applies killswitch modes from the store', async () => {
    const gate = await gateFor(node.base);
    const base = `http://127.0.0.1:${gate.address.port}`;
    try {
      await enableKillswitch(store, { mode: 'maintenance', reason: 'gate test', message: 'Be right back', by: 'test' });
      await waitFor(async () => (await request(`${base}/x`)).status === 503, 3000, 10);
      const page = await request(`${base}/x`, { headers: { accept: 'text/html' } });
      expect(page.text).toContain('Be right back');
      expect(page.headers.get('retry-after')).toBeTruthy();
      expect((await request(`${base}/x`, { headers: { 'x-reprise-bypass': 'op' } })).status).toBe(200);
      expect((await request(`${base}/health`)).status).toBe(200);
      await expect(wsEcho(`ws://127.0.0.1:${gate.address.port}/`)).rejects.toThrow(/503/);

      await enableKillswitch(store, { mode: 'read_only', reason: 'gate test', by: 'test' });
      await waitFor(async () => (await request(`${base}/x`)).status === 200, 3000, 10);
      expect((await request(`${base}/upload`, { method: 'POST', body: 'x' })).status).toBe(503);
    } finally {
      await disableKillswitch(store, 'test');
    }
    await waitFor(async () => (await request(`${base}/upload`, { method: 'POST', body: 'x' })).status === 200, 3000, 10);
  });

  it('streams both ways, adds X-Forwarded-*, keeps connections alive and passes app errors through', async () => {
    const gate = await gateFor(node.base);
    const base = `http://127.0.0.1:${gate.address.port}`;
    // fetch() may not set Host, so use node:http for this one.
    const headers = await new Promise<Record<string, string>>((resolve, reject) => {
      httpRequest(`${base}/headers`, { headers: { host: 'app.example' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(JSON.parse(text)));
      })
        .on('error', reject)
        .end();
    });
    expect(headers.host).toBe('app.example');
    expect(headers['x-forwarded-for']).toMatch(/127\.0\.0\.1/);
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-forwarded-host']).toBe('app.example');

    // The second chunk is only written after the client has read the first: a buffering proxy would hang here.
    const stream = await fetch(`${base}/stream`);
    const reader = stream.body!.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).toString()).toBe('first\n');
    node.release();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += Buffer.from(r.value).toString();
    expect(rest).toBe('second\n');

    const upload = randomBytes(3 * 1024 * 1024);
    const digest = (await request(`${base}/upload`, { method: 'POST', body: upload })).text;
    expect(digest).toBe(createHash('sha256').update(upload).digest('hex'));
    expect(await request(`${base}/error`)).toMatchObject({ status: 500, text: 'app error' });

    // Keep-alive towards the upstream: two requests through the gate reuse one upstream socket.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<string>((resolve, reject) => {
        httpRequest(`${base}/`, { agent }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        })
          .on('error', reject)
          .end();
      });
    const a = await get();
    const b = await get();
    agent.destroy();
    expect(a).toBe(b);
  });

  it('gives a client that stops reading for a while every byte', async () => {
    const gate = await gateFor(node.base);
    const digest = await new Promise<string>((resolve, reject) => {
      httpRequest(`http://127.0.0.1:${gate.address.port}/big`, (res) => {
        res.pause();
        setTimeout(() => {
          const hash = createHash('sha256');
          res.on('data', (c: Buffer) => hash.update(c));
          res.on('end', () => resolve(hash.digest('hex')));
          res.resume();
        }, 300);
      })
        .on('error', reject)
        .end();
    });
    expect(digest).toBe(createHash('sha256').update(payload).digest('hex'));
  });

  it('cancels the upstream request when the client goes away', async () => {
    const gate = await gateFor(node.base);
    const controller = new AbortController();
    const response = await fetch(`http://127.0.0.1:${gate.address.port}/hold`, { signal: controller.signal });
    const reader = response.body!.getReader();
    expect(Buffer.from((await reader.read()).value!).toString()).toBe('held\n');
    controller.abort();
    await heldClosed;
  });

  it('upgrades WebSockets through the gate', async () => {
    const gate = await gateFor(node.base);
    expect(await wsEcho(`ws://127.0.0.1:${gate.address.port}/chat`)).toBe('echo:hello');
  });

  it('serves the maintenance page itself when the upstream dies', async () => {
    const upstream = await waitListening(spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', dir], { stdio: ['ignore', 'pipe', 'pipe'] }), /port (\d+)/);
    const withHealth = await gateFor(`http://127.0.0.1:${upstream.port}`, `http://127.0.0.1:${upstream.port}/`);
    const plain = await gateFor(`http://127.0.0.1:${upstream.port}`);
    const a = `http://127.0.0.1:${withHealth.address.port}`;
    const b = `http://127.0.0.1:${plain.address.port}`;
    expect((await request(`${a}/big.bin`)).status).toBe(200);
    await killChild(upstream.proc);
    // Without a health URL: the refused connection itself gives the page.
    const page = await request(`${b}/big.bin`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(503);
    expect(page.text).toContain('Temporarily unavailable');
    const json = await request(`${b}/big.bin`, { headers: { accept: 'application/json' } });
    expect(JSON.parse(json.text)).toMatchObject({ error: 'upstream_unavailable' });
    // With a health URL: the poller marks it down, and /ready says so.
    await waitFor(async () => (await request(`${a}/ready`)).status === 503, 3000, 50);
    expect((await request(`${a}/big.bin`)).status).toBe(503);
    expect((await request(`${a}/health`)).status).toBe(200);
  });
});

describe('gate start-up', () => {
  it('refuses a port already taken with REPRISE_LISTEN_FAILED, and a bad upstream with REPRISE_USAGE', async () => {
    const first = await gateFor(node.base);
    const controller = new AbortController();
    await expect(startGate({ listen: { host: '127.0.0.1', port: first.address.port }, upstream: node.base, store, signal: controller.signal })).rejects.toMatchObject({
      code: 'REPRISE_LISTEN_FAILED',
    });
    await expect(startGate({ listen: '127.0.0.1:0', upstream: 'not a url', store, signal: controller.signal })).rejects.toMatchObject({ code: 'REPRISE_USAGE' });
  });
});

describe('gate health URL', () => {
  it('a 5xx on the health URL serves the maintenance page until it recovers', async () => {
    const gate = await gateFor(node.base, `${node.base}/health`);
    const base = `http://127.0.0.1:${gate.address.port}`;
    expect((await request(`${base}/x`)).status).toBe(200);
    healthStatus = 500;
    try {
      await waitFor(async () => (await request(`${base}/x`)).status === 503, 3000, 20);
      expect(JSON.parse((await request(`${base}/x`, { headers: { accept: 'application/json' } })).text)).toMatchObject({ error: 'upstream_unavailable' });
      expect((await request(`${base}/ready`)).status).toBe(503);
    } finally {
      healthStatus = 200;
    }
    await waitFor(async () => (await request(`${base}/x`)).status === 200, 3000, 20);
    expect((await request(`${base}/ready`)).status).toBe(200);
  });
});

function wsEcho(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('open', () => ws.send('hello'));
    ws.on('message', (data) => {
      resolve(data.toString());
      ws.close();
    });
    ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.on('error', reject);
  });
}
