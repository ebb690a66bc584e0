import type { Health } from './health.js';
import type { Killswitch } from './killswitch.js';
import type { Reply, RequestInfo } from './reply.js';

export interface FetchOptions {
  health?: Health;
  killswitch?: Killswitch;
  /** The client's identity for rate limiting; web Requests carry no address, so pass one (e.g. from the platform). */
  clientId?: (req: Request) => string;
}

function toResponse(reply: Reply, method: string): Response {
  return new Response(method === 'HEAD' ? null : reply.body, { status: reply.status, headers: reply.headers });
}

/**
 * For any framework with web-standard Request/Response: the Response to send instead of the
 * app's, or undefined to let the request through. Never throws.
 */
export async function handleFetch(req: Request, options: FetchOptions, client?: string): Promise<Response | undefined> {
  const { health, killswitch } = options;
  const url = new URL(req.url);
  if (health) {
    const answer = health.handle(url.pathname);
    if (answer) return toResponse(await answer, req.method);
  }
  if (killswitch && killswitch.mode !== 'off') {
    const info: RequestInfo = {
      method: req.method,
      path: url.pathname,
      header: (name) => req.headers.get(name) ?? undefined,
      get client() {
        return client ?? options.clientId?.(req) ?? req.headers.get('x-forwarded-for')?.split(',')[0]?.trim() ?? 'unknown';
      },
    };
    const reply = killswitch.decide(info);
    if (reply) return toResponse(reply, req.method);
  }
  return undefined;
}

/** Wraps a `(Request) => Response` handler (Bun, Deno, workers, Hono's app.fetch). Never throws. */
export function withRepriseFetch<A extends unknown[]>(
  handler: (req: Request, ...rest: A) => Response | Promise<Response>,
  options: FetchOptions,
): (req: Request, ...rest: A) => Promise<Response> {
  return async (req, ...rest) => (await handleFetch(req, options)) ?? handler(req, ...rest);
}

interface HonoContextLike {
  req: { raw: Request; path: string };
  env?: unknown;
}

/**
 * Hono middleware: `app.use('*', honoMiddleware({ health, killswitch }))`. On @hono/node-server
 * the client address is taken from the Node socket. Never throws.
 */
export function honoMiddleware(options: FetchOptions): (c: HonoContextLike, next: () => Promise<void>) => Promise<Response | void> {
  return async (c, next) => {
    const { health, killswitch } = options;
    const healthPath = health !== undefined && (c.req.path === health.paths.health || c.req.path === health.paths.ready || c.req.path === health.paths.detailed);
    if (healthPath || (killswitch && killswitch.mode !== 'off')) {
      const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
      const response = await handleFetch(c.req.raw, options, options.clientId ? undefined : env?.incoming?.socket?.remoteAddress);
      if (response) return response;
    }
    await next();
  };
}
