import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRetry } from '../../../src/storage/retry.js';
import { S3Backend, type S3BackendOptions } from '../../../src/storage/s3/index.js';
import { startS3Server, type S3Server } from '../../helpers/s3-server.js';
import { collect, failureKind, sha256 } from './conformance.js';

let plain: S3Server;
let conditional: S3Server;
beforeAll(async () => {
  [plain, conditional] = await Promise.all([startS3Server(), startS3Server({ conditionalWrites: true })]);
});
afterAll(async () => {
  await Promise.all([plain?.stop(), conditional?.stop()]);
});

const prefix = (): string => `t-${randomBytes(4).toString('hex')}`;
function on(server: S3Server, extra: Partial<S3BackendOptions> = {}): S3Backend {
  return new S3Backend({ bucket: server.bucket, prefix: prefix(), endpoint: server.endpoint, credentials: server.credentials, ...extra });
}

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A proxy in front of s3rver that answers 503 SlowDown to the first `failures` requests and counts sockets. */
async function flakyProxy(target: S3Server, failures: number): Promise<{ endpoint: string; requests: () => number; sockets: () => number; close: () => Promise<void> }> {
  const upstream = new URL(target.endpoint);
  let requests = 0;
  let sockets = 0;
  const server = createHttpServer((req, res) => {
    requests++;
    if (requests <= failures) {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      return;
    }
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(forward);
  });
  server.on('connection', () => sockets++);
  const port = await listen(server);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests: () => requests,
    sockets: () => sockets,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('S3Backend against s3rver', () => {
  it('detects once that the server ignores If-None-Match, falls back, and leaves no probe object', async () => {
    const backend = on(plain);
    expect(await backend.createOnlyMode()).toBe('unknown');
    await backend.put('lock', new Uint8Array([1]), { createOnly: true });
    expect(await backend.createOnlyMode()).toBe('emulated');
    expect(await failureKind(backend.put('lock', new Uint8Array([2]), { createOnly: true }))).toBe('exists');
    expect((await collect(backend.list(''))).map((e) => e.key)).toEqual(['lock']);
    await backend.close();
  });

  it('uses If-None-Match where the server honours it', async () => {
    const backend = on(conditional);
    await backend.put('lock', new Uint8Array([1]), { createOnly: true });
    expect(await backend.createOnlyMode()).toBe('atomic');
    expect(await failureKind(backend.put('lock', new Uint8Array([2]), { createOnly: true }))).toBe('exists');
    expect((await collect(backend.list(''))).map((e) => e.key)).toEqual(['lock']);
    await backend.close();
  });

  it('maps refused credentials (unknown access key) to permission', async () => {
    // s3rver does not check V4 signatures, so a wrong secret would pass; an unknown key id is refused.
    const unknownKey = on(plain, { credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'S3RVER' } });
    expect(await failureKind(unknownKey.put('x', new Uint8Array([1])))).toBe('permission');
    expect(await failureKind(unknownKey.get('x'))).toBe('permission');
    expect(await failureKind(collect(unknownKey.list('')))).toBe('permission');
    await unknownKey.close();
  });

  it('maps a missing bucket to fatal, not to an empty listing', async () => {
    const backend = new S3Backend({ bucket: 'no-such-bucket', endpoint: plain.endpoint, credentials: plain.credentials });
    expect(await failureKind(collect(backend.list('')))).toBe('fatal');
    expect(await failureKind(backend.put('x', new Uint8Array([1])))).toBe('fatal');
    await backend.close();
  });

  it('maps a refused connection to transient', async () => {
    const closed = createTcpServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r));
    const backend = new S3Backend({ bucket: 'b', endpoint: `http://127.0.0.1:${port}`, credentials: plain.credentials });
    expect(await failureKind(backend.get('x'))).toBe('transient');
    await backend.close();
  });

  it('retries 503 SlowDown through withRetry and then succeeds, over kept-alive sockets', async () => {
    const proxy = await flakyProxy(plain, 3);
    try {
      const s3 = new S3Backend({ bucket: plain.bucket, prefix: prefix(), endpoint: proxy.endpoint, credentials: plain.credentials });
      const retries: string[] = [];
      const backend = withRetry(s3, { baseDelayMs: 1, onRetry: ({ op, error }) => retries.push(`${op}:${error.kind}`) });
      const body = randomBytes(100_000);
      await backend.put('obj', body);
      expect(retries).toEqual(['put:transient', 'put:transient', 'put:transient']);
      for (let i = 0; i < 30; i++) expect(sha256(await backend.get('obj', { offset: i, length: 1000 }))).toBe(sha256(body.subarray(i, i + 1000)));
      expect(proxy.requests()).toBe(34);
      // Sequential requests reuse one kept-alive connection (a few at most if the server closed one).
      expect(proxy.sockets()).toBeLessThanOrEqual(3);
      await backend.close();
    } finally {
      await proxy.close();
    }
  });

  it('aborts a request the server never answers', async () => {
    // Reads and discards the request, never answers.
    const silent = createTcpServer((socket) => socket.resume());
    const port = await listen(silent);
    try {
      const backend = new S3Backend({ bucket: 'b', endpoint: `http://127.0.0.1:${port}`, credentials: plain.credentials });
      const ac = new AbortController();
      const started = Date.now();
      setTimeout(() => ac.abort(), 100);
      await expect(backend.get('x', undefined, ac.signal)).rejects.toMatchObject({ name: 'AbortError' });
      expect(Date.now() - started).toBeLessThan(5_000);
      await backend.close();
    } finally {
      await new Promise((r) => silent.close(r));
    }
  });
});
