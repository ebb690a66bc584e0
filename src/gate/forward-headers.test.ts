import { describe, expect, it } from 'vitest';
import { forwardedRequestHeaders, forwardedResponseHeaders } from './forward-headers.js';

const hop = { remoteAddress: '10.0.0.7', localPort: 8080, encrypted: false };

/** Flat [name, value, …] pairs as a list of `name: value` lines, for readable expectations. */
const lines = (flat: readonly string[]) => flat.flatMap((v, i) => (i % 2 === 0 ? [`${v}: ${flat[i + 1]}`] : []));

describe('forwardedRequestHeaders', () => {
  it('drops hop-by-hop headers and those named by Connection, keeps the rest as sent', () => {
    const raw = ['Host', 'app.example', 'Connection', 'keep-alive, X-Secret', 'Keep-Alive', 'timeout=5', 'TE', 'trailers', 'X-Secret', 's', 'Accept', 'a', 'accept', 'b', 'Expect', '100-continue', 'Upgrade', 'h2c'];
    expect(lines(forwardedRequestHeaders(raw, hop).headers)).toEqual([
      'Host: app.example',
      'Accept: a',
      'accept: b',
      'x-forwarded-for: 10.0.0.7',
      'x-forwarded-proto: http',
      'x-forwarded-host: app.example',
      'x-forwarded-port: 8080',
    ]);
  });

  it('extends X-Forwarded-For and keeps the X-Forwarded-* a client already sent', () => {
    const raw = ['X-Forwarded-For', '1.1.1.1', 'x-forwarded-for', '2.2.2.2', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'front.example', 'X-Forwarded-Port', '443', 'host', 'app.example'];
    expect(lines(forwardedRequestHeaders(raw, { ...hop, encrypted: true }).headers)).toEqual([
      'X-Forwarded-Proto: https',
      'X-Forwarded-Host: front.example',
      'X-Forwarded-Port: 443',
      'host: app.example',
      'x-forwarded-for: 1.1.1.1, 2.2.2.2, 10.0.0.7',
    ]);
  });

  it('says https for a TLS client and adds no X-Forwarded-Host without Host', () => {
    expect(lines(forwardedRequestHeaders([], { remoteAddress: '::1', localPort: undefined, encrypted: true }).headers)).toEqual([
      'x-forwarded-for: ::1',
      'x-forwarded-proto: https',
      'x-forwarded-port: ',
    ]);
  });

  it('keeps one Host and one Content-Length, and tells whether a body follows', () => {
    const once = forwardedRequestHeaders(['Host', 'a', 'Host', 'b', 'Content-Length', '5', 'content-length', '5'], hop);
    expect(lines(once.headers).filter((l) => !l.startsWith('x-'))).toEqual(['Host: a', 'Content-Length: 5']);
    expect(once.hasBody).toBe(true);
    expect(forwardedRequestHeaders(['Content-Length', '0'], hop).hasBody).toBe(false);
    expect(forwardedRequestHeaders(['Transfer-Encoding', 'chunked'], hop).hasBody).toBe(true);
    expect(forwardedRequestHeaders(['Accept', '*/*'], hop).hasBody).toBe(false);
  });
});

describe('forwardedResponseHeaders', () => {
  it('drops hop-by-hop headers and those named by Connection, keeps repeated headers and latin1 bytes', () => {
    const raw = ['Content-Type', 'text/plain', 'Connection', 'keep-alive, X-Internal', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'X-Internal', '1', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'].map((s) => Buffer.from(s, 'latin1'));
    raw.push(Buffer.from('Content-Disposition'), Buffer.from('attachment; filename="é.txt"', 'utf8'));
    const out = forwardedResponseHeaders(raw);
    expect(lines(out).slice(0, 3)).toEqual(['content-type: text/plain', 'set-cookie: a=1', 'set-cookie: b=2']);
    // Written back with latin1 by node:http, the UTF-8 bytes reach the client unchanged.
    expect(Buffer.from(out[7]!, 'latin1').toString('utf8')).toBe('attachment; filename="é.txt"');
  });
});
