/** A framework-neutral answer that each adapter (node:http, Express, Fastify, fetch) writes out. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What the middleware needs to know about a request, whatever the framework. */
export interface RequestInfo {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Header value by lower-case name. */
  header(name: string): string | undefined;
  /** Who the client is, for rate limiting (remote address by default). */
  client: string;
}

/** A JSON reply with no caching, as health and killswitch answers must never be cached. Pure. */
export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** The path part of a request target (`/a/b?x=1` → `/a/b`). Pure. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
