import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Health } from './health.js';
import type { Killswitch } from './killswitch.js';
import { pathOf, type Reply, type RequestInfo } from './reply.js';

export interface MiddlewareOptions {
  health?: Health;
  killswitch?: Killswitch;
  /** The client's identity for rate limiting; default its remote address. */
  clientId?: (req: IncomingMessage) => string;
}

type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;
type ConnectMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** Writes a Reply on a node:http response. Never throws. */
export function writeReply(res: ServerResponse, reply: Reply, method: string): void {
  res.writeHead(reply.status, reply.headers);
  res.end(method === 'HEAD' ? undefined : reply.body);
}

function requestInfo(req: IncomingMessage, path: string, clientId: ((req: IncomingMessage) => string) | undefined): RequestInfo {
  return {
    method: req.method ?? 'GET',
    path,
    header: (name) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    get client() {
      return clientId ? clientId(req) : (req.socket.remoteAddress ?? 'unknown');
    },
  };
}

/**
 * Connect-style middleware `(req, res, next)` for node:http servers, Express and anything
 * Connect-compatible: serves the health paths and applies the killswitch. Never throws.
 */
export function nodeMiddleware(options: MiddlewareOptions): ConnectMiddleware {
  const { health, killswitch, clientId } = options;
  const healthPrefixes = health ? [...new Set(Object.values(health.paths).map((p) => p.slice(0, 5)))] : [];
  return (req, res, next) => {
    const url = req.url ?? '/';
    // Cheap prefix test first: the hot path in mode `off` should not even split the URL.
    if (health && healthPrefixes.some((p) => url.startsWith(p))) {
      const answer = health.handle(pathOf(url));
      if (answer) {
        void answer.then((reply) => writeReply(res, reply, req.method ?? 'GET'));
        return;
      }
    }
    if (killswitch && killswitch.mode !== 'off') {
      const reply = killswitch.decide(requestInfo(req, pathOf(url), clientId));
      if (reply) return writeReply(res, reply, req.method ?? 'GET');
    }
    next();
  };
}

/** Wraps a plain node:http request handler with the health paths and the killswitch. Never throws. */
export function withReprise(handler: NodeHandler, options: MiddlewareOptions): NodeHandler {
  const middleware = nodeMiddleware(options);
  return (req, res) => middleware(req, res, () => handler(req, res));
}

/** The same middleware, named for Express users: `app.use(expressMiddleware({ health, killswitch }))`. */
export const expressMiddleware = nodeMiddleware;
