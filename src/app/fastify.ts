import type { IncomingMessage } from 'node:http';
import type { MiddlewareOptions } from './node.js';
import { pathOf, type RequestInfo } from './reply.js';

// Structural types, so this file does not import fastify (the package is the app's, not ours).
interface FastifyRequestLike {
  raw: IncomingMessage;
  method: string;
  url: string;
  ip: string;
  headers: Record<string, string | string[] | undefined>;
}
interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(body?: string): FastifyReplyLike;
}
interface FastifyLike {
  addHook(name: 'onRequest', hook: (req: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown>): unknown;
}

export interface FastifyPluginOptions extends Omit<MiddlewareOptions, 'clientId'> {
  clientId?: (req: FastifyRequestLike) => string;
}

/**
 * A Fastify plugin: `await app.register(fastifyReprise, { health, killswitch })`. It hooks
 * onRequest for the whole app (not only the registering context). Never throws.
 */
export function fastifyReprise(app: FastifyLike, options: FastifyPluginOptions, done?: (err?: Error) => void): void {
  const { health, killswitch, clientId } = options;
  app.addHook('onRequest', async (req, reply) => {
    const url = req.url;
    if (health) {
      const answer = health.handle(pathOf(url));
      if (answer) {
        const r = await answer;
        return reply.code(r.status).headers(r.headers).send(req.method === 'HEAD' ? undefined : r.body);
      }
    }
    if (killswitch && killswitch.mode !== 'off') {
      const info: RequestInfo = {
        method: req.method,
        path: pathOf(url),
        header: (name) => {
          const value = req.headers[name];
          return Array.isArray(value) ? value.join(', ') : value;
        },
        get client() {
          return clientId ? clientId(req) : req.ip;
        },
      };
      const r = killswitch.decide(info);
      if (r) return reply.code(r.status).headers(r.headers).send(req.method === 'HEAD' ? undefined : r.body);
    }
    return undefined;
  });
  done?.();
}

// What fastify-plugin does: apply the hook to the parent context instead of an encapsulated child.
(fastifyReprise as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;
(fastifyReprise as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')] = 'reprise';
