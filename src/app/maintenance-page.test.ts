import { describe, expect, it } from 'vitest';
import { OFF_STATE } from '../killswitch/mode.js';
import { blockedReply, retryAfterSeconds } from './maintenance-page.js';

const state = { ...OFF_STATE, mode: 'maintenance' as const, reason: 'db', until: '2026-01-01T00:10:00.000Z' };

describe('maintenance page', () => {
  it('escapes the operator message in HTML', () => {
    const reply = blockedReply(state, { status: 503, error: 'maintenance', message: '<script>x</script>', retryAfter: 5, html: true, title: 'Down' });
    expect(reply.body).not.toContain('<script>');
    expect(reply.body).toContain('&#60;script&#62;');
    expect(reply.headers['retry-after']).toBe('5');
  });
  it('derives Retry-After from the expiry when there is one', () => {
    expect(retryAfterSeconds(state, 300, Date.parse('2026-01-01T00:09:00.000Z'))).toBe(60);
    expect(retryAfterSeconds({ ...state, until: null }, 300)).toBe(300);
  });
});
