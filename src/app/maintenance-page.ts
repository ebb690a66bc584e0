import type { ModeState } from '../killswitch/mode.js';
import { jsonReply, type Reply } from './reply.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** True when the client is a browser asking for a page rather than an API client. Pure. */
export function wantsHtml(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('text/html');
}

/** Seconds until the mode lapses, else the configured default; at least 1. Pure. */
export function retryAfterSeconds(state: ModeState, fallback: number, now: number = Date.now()): number {
  if (state.until !== null) return Math.max(1, Math.ceil((Date.parse(state.until) - now) / 1000));
  return Math.max(1, Math.round(fallback));
}

export interface PageOptions {
  status: number;
  error: string;
  message: string;
  retryAfter: number;
  html: boolean;
  title: string;
}

/**
 * The answer of a blocked request: an HTML page for browsers, JSON for API clients, with
 * `Retry-After`. Pure.
 */
export function blockedReply(state: ModeState, options: PageOptions): Reply {
  const headers = { 'retry-after': String(options.retryAfter) };
  if (!options.html) {
    return jsonReply(
      options.status,
      { error: options.error, mode: state.mode, message: options.message, reason: state.reason, until: state.until, retry_after: options.retryAfter },
      headers,
    );
  }
  const until = state.until ? `<p class="until">Expected back by ${escapeHtml(state.until)}.</p>` : '';
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.6rem}.until{color:#666}</style>
</head><body><h1>${escapeHtml(options.title)}</h1><p>${escapeHtml(options.message)}</p>${until}</body></html>
`;
  return {
    status: options.status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body,
  };
}
