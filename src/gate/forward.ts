import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Pool } from 'undici';

// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);

export interface ForwardError extends Error {
  code?: string;
}

/**
 * Forwards HTTP requests to one upstream over a keep-alive pool (undici), streaming both bodies.
 * WebSocket upgrades do not come here (the gate hands them to http-proxy-3).
 */
export class Forwarder {
  private readonly pool: Pool;

  constructor(upstream: URL, connections = 128) {
    this.pool = new Pool(upstream.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
  }

  /**
   * Sends `req` upstream and streams the answer into `res`; calls `onError` when the upstream
   * cannot be reached or fails mid-way (the caller decides what to answer), `onResponse` when the
   * upstream answered. Never throws.
   */
  forward(req: IncomingMessage, res: ServerResponse, onError: (err: ForwardError) => void, onResponse?: () => void): void {
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    let failed = false;
    const fail = (err: ForwardError): void => {
      if (failed) return;
      failed = true;
      onError(err);
    };
    this.pool.stream(
      {
        path: req.url ?? '/',
        method: req.method as 'GET',
        headers: requestHeaders(req),
        body: hasBody ? req : null,
        opaque: res,
      },
      ({ statusCode, headers, opaque }) => {
        onResponse?.();
        const out = opaque as ServerResponse;
        out.writeHead(statusCode, responseHeaders(headers as Record<string, string | string[] | undefined>));
        return out;
      },
      (err) => {
        if (err) fail(normalise(err));
      },
    );
    // A client that goes away must not leave the upstream request running.
    res.on('close', () => {
      if (!res.writableFinished) req.destroy();
    });
  }

  /** Closes pooled connections. Idempotent; never throws. */
  async close(): Promise<void> {
    await this.pool.destroy().catch(() => undefined);
  }
}

function requestHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  const listed = connectionListed(req.headers.connection);
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    headers[name] = value;
  }
  const remote = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remote}` : remote;
  headers['x-forwarded-proto'] ??= 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
  if (req.headers.host !== undefined) headers['x-forwarded-host'] ??= req.headers.host;
  headers['x-forwarded-port'] ??= String(req.socket.localPort ?? '');
  return headers;
}

function responseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connection = headers.connection;
  const listed = connectionListed(Array.isArray(connection) ? connection.join(',') : connection);
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function connectionListed(connection: string | undefined): Set<string> | undefined {
  if (!connection) return undefined;
  return new Set(connection.split(',').map((t) => t.trim().toLowerCase()));
}

function normalise(err: Error): ForwardError {
  const e = err as ForwardError & { cause?: { code?: string } };
  if (!e.code && e.cause?.code) e.code = e.cause.code;
  return e;
}
