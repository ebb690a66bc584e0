import { RepriseError } from '../core/errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * Parses `HOST:PORT`, `[::1]:PORT` or `PORT` (loopback). Throws REPRISE_USAGE when it is none of
 * these. Pure.
 */
export function parseListen(text: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text.trim()) ?? /^()()(\d+)$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RepriseError('REPRISE_USAGE', `--listen: expected HOST:PORT, got ${JSON.stringify(text)}`, {
      hint: 'For example --listen 127.0.0.1:8080 or --listen 0.0.0.0:80.',
    });
  }
  return { host: match[1] || match[2] || '127.0.0.1', port };
}
