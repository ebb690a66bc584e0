import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import { forwardedRequestHeaders, forwardedResponseHeaders } from './forward-headers.js';

export interface ForwardError extends Error {
  code?: string;
}

export interface ForwardHooks {
  /**
   * The upstream could not be reached or failed mid-way; the hook decides what to answer (the
   * response may already be under way). Not called for requests whose client went away.
   */
  onError(err: ForwardError, req: IncomingMessage, res: ServerResponse): void;
  /** The upstream answered (status and headers received). */
  onResponse(): void;
}

// The exchanges in flight on a client connection, so that one listener per connection (rather
// than one per request) cancels them when the client goes away.
const inFlight = Symbol('reprise.gate.inFlight');
type ClientSocket = Socket & { [inFlight]?: Set<Exchange> };

/**
 * Forwards HTTP requests to one upstream over a keep-alive pool (undici), streaming both bodies.
 * WebSocket upgrades do not come here (the gate hands them to http-proxy-3).
 */
export class Forwarder {
  private readonly pool: Pool;

  constructor(
    upstream: URL,
    readonly hooks: ForwardHooks,
    connections = 128,
  ) {
    this.pool = new Pool(upstream.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
  }

  /** Sends `req` upstream and streams the answer into `res`. Never throws (errors go to the hooks). */
  forward(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket as ClientSocket;
    const { headers, hasBody } = forwardedRequestHeaders(req.rawHeaders, {
      remoteAddress: socket.remoteAddress ?? '',
      localPort: socket.localPort,
      encrypted: 'encrypted' in socket && socket.encrypted === true,
    });
    const exchange = new Exchange(this.hooks, req, res, socket);
    let exchanges = socket[inFlight];
    if (exchanges === undefined) {
      exchanges = socket[inFlight] = new Set();
      socket.once('close', cancelAll);
    }
    exchanges.add(exchange);
    this.pool.dispatch({ path: req.url ?? '/', method: req.method ?? 'GET', headers, body: hasBody ? req : null }, exchange);
  }

  /** Closes pooled connections. Idempotent; never throws. */
  async close(): Promise<void> {
    await this.pool.destroy().catch(() => undefined);
  }
}

function cancelAll(this: ClientSocket): void {
  const exchanges = this[inFlight];
  if (exchanges === undefined) return;
  for (const exchange of exchanges) exchange.cancel();
  exchanges.clear();
}

/**
 * One request/response pair, as an undici dispatch handler. The raw-header callbacks (onHeaders,
 * onData…) are used rather than the controller-based ones because undici wraps those in an
 * adapter that parses the response headers into an object per request; raw headers go straight
 * into res.writeHead.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private abortUpstream: ((err?: Error) => void) | undefined;
  private resumeUpstream: (() => void) | undefined;
  private cancelled = false;

  constructor(
    private readonly hooks: ForwardHooks,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly socket: ClientSocket,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    // Cancelled while it waited for a pooled connection.
    if (this.cancelled) abort(new Error('client closed the connection'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    this.hooks.onResponse();
    this.resumeUpstream = resume;
    this.res.writeHead(statusCode, forwardedResponseHeaders(rawHeaders));
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    // A slow client: undici stops reading the upstream until the client has taken this in.
    this.res.once('drain', this.resumeUpstream!);
    return false;
  }

  onComplete(): void {
    this.settle();
    this.res.end();
  }

  onError(err: Error): void {
    this.settle();
    if (this.cancelled) return;
    this.hooks.onError(withCode(err), this.req, this.res);
  }

  /** The client went away: stop the upstream request too. */
  cancel(): void {
    this.cancelled = true;
    this.abortUpstream?.(new Error('client closed the connection'));
  }

  private settle(): void {
    this.socket[inFlight]?.delete(this);
  }
}

function withCode(err: Error): ForwardError {
  const e = err as ForwardError & { cause?: { code?: string } };
  if (!e.code && e.cause?.code) e.code = e.cause.code;
  return e;
}
