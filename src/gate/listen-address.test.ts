import { describe, expect, it } from 'vitest';
import { isRepriseError } from '../core/errors.js';
import { parseListen } from './listen-address.js';

describe('parseListen', () => {
  it('reads HOST:PORT, [IPv6]:PORT and a bare port', () => {
    expect(parseListen('0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseListen('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(parseListen('9000')).toEqual({ host: '127.0.0.1', port: 9000 });
  });
  it('refuses anything else with REPRISE_USAGE', () => {
    for (const bad of ['host', 'host:99999', ':x', '']) {
      try {
        parseListen(bad);
        expect.unreachable(bad);
      } catch (err) {
        expect(isRepriseError(err, 'REPRISE_USAGE')).toBe(true);
      }
    }
  });
});
