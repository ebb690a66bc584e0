import { util } from 'undici';

// Header rewriting for the gate's hot path. Both directions work on flat [name, value, …] arrays
// (what node:http's rawHeaders and undici's raw response headers are, and what undici's dispatch
// and res.writeHead take), so nothing builds a header object per request.

// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);

/** What the client's connection adds to the forwarded request (X-Forwarded-*). */
export interface ClientHop {
  remoteAddress: string;
  localPort: number | undefined;
  encrypted: boolean;
}

export interface ForwardedRequestHeaders {
  headers: string[];
  /** Whether the request carries a body (a non-zero Content-Length, or Transfer-Encoding). */
  hasBody: boolean;
}

/**
 * The request headers to send upstream: hop-by-hop headers and those named by Connection
 * removed, one Host and one Content-Length kept (undici refuses duplicates), X-Forwarded-For
 * extended with the client's address, X-Forwarded-Proto/Host/Port added unless the client sent
 * them. `raw` is node:http's `rawHeaders` (names as sent, values latin1). Pure; never throws.
 */
export function forwardedRequestHeaders(raw: readonly string[], hop: ClientHop): ForwardedRequestHeaders {
  const headers: string[] = [];
  let connection: string | undefined;
  let forwardedFor: string | undefined;
  let host: string | undefined;
  let contentLength: string | undefined;
  let chunked = false;
  let hasProto = false;
  let hasHost = false;
  let hasPort = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') connection = connection === undefined ? value : `${connection},${value}`;
      else if (lower === 'transfer-encoding') chunked = true;
      continue;
    }
    switch (lower) {
      case 'host':
        if (host !== undefined) continue;
        host = value;
        break;
      case 'content-length':
        if (contentLength !== undefined) continue;
        contentLength = value;
        break;
      case 'x-forwarded-for':
        // Appended to below, as one header.
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        hasProto = true;
        break;
      case 'x-forwarded-host':
        hasHost = true;
        break;
      case 'x-forwarded-port':
        hasPort = true;
        break;
    }
    headers.push(name, value);
  }
  const out = connection === undefined ? headers : withoutListed(headers, connection);
  out.push('x-forwarded-for', forwardedFor ? `${forwardedFor}, ${hop.remoteAddress}` : hop.remoteAddress);
  if (!hasProto) out.push('x-forwarded-proto', hop.encrypted ? 'https' : 'http');
  if (!hasHost && host !== undefined) out.push('x-forwarded-host', host);
  if (!hasPort) out.push('x-forwarded-port', hop.localPort === undefined ? '' : String(hop.localPort));
  return { headers: out, hasBody: contentLength !== undefined ? contentLength !== '0' : chunked };
}

/**
 * The response headers to send to the client: undici's raw response headers with lower-case
 * names (values' latin1 bytes kept as they are), without hop-by-hop headers and those named by
 * Connection. Pure; never throws.
 */
export function forwardedResponseHeaders(raw: readonly Buffer[]): string[] {
  const headers: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    // Lower-case, as undici's own response objects give them; common names come interned from a lookup tree.
    const name = util.headerNameToString(raw[i]!);
    if (HOP_BY_HOP.has(name)) {
      if (name === 'connection') {
        const value = raw[i + 1]!.toString('latin1');
        connection = connection === undefined ? value : `${connection},${value}`;
      }
      continue;
    }
    headers.push(name, raw[i + 1]!.toString('latin1'));
  }
  return connection === undefined ? headers : withoutListed(headers, connection);
}

/** `headers` without the names listed in a Connection value (`close` and `keep-alive` list none that remain). */
function withoutListed(headers: string[], connection: string): string[] {
  const listed = new Set<string>();
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && !HOP_BY_HOP.has(name) && name !== 'close') listed.add(name);
  }
  if (listed.size === 0) return headers;
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!listed.has(headers[i]!.toLowerCase())) kept.push(headers[i]!, headers[i + 1]!);
  }
  return kept;
}
