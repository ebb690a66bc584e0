import { describe, expect, it } from 'vitest';
import { effectiveState, OFF_STATE, parseModeState } from './mode.js';

describe('parseModeState', () => {
  it('accepts a state and normalises its fields', () => {
    expect(parseModeState('{"mode":"maintenance","reason":"r","since":"2026-01-01T00:00:00Z","until":null,"by":"me","message":""}')).toEqual({
      mode: 'maintenance',
      reason: 'r',
      message: null,
      since: '2026-01-01T00:00:00.000Z',
      until: null,
      by: 'me',
    });
  });

  it('rejects what is not a state, so a corrupt store keeps the last known mode', () => {
    expect(parseModeState('{"mode":"open"}')).toBeUndefined();
    expect(parseModeState('not json')).toBeUndefined();
    expect(parseModeState(null)).toBeUndefined();
  });

  it('caps long texts', () => {
    expect(parseModeState({ mode: 'degraded', reason: 'x'.repeat(5000) })?.reason).toHaveLength(2000);
  });
});

describe('effectiveState', () => {
  const state = { ...OFF_STATE, mode: 'read_only' as const, since: '2026-01-01T00:00:00.000Z', until: '2026-01-01T01:00:00.000Z' };
  it('keeps a mode before its expiry and lapses to off after', () => {
    expect(effectiveState(state, Date.parse('2026-01-01T00:59:59Z')).mode).toBe('read_only');
    expect(effectiveState(state, Date.parse('2026-01-01T01:00:00Z'))).toMatchObject({ mode: 'off', since: state.until, reason: 'expired' });
  });
  it('never expires a mode without until', () => {
    expect(effectiveState({ ...state, until: null }, Date.parse('2100-01-01T00:00:00Z')).mode).toBe('read_only');
  });
});
