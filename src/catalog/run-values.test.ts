import { describe, expect, it } from 'vitest';
import { serializeFigures, parseFigures } from './figures.js';
import { finishValues, isRunId, matchesNothing, normalQuery, recordRow, startRow } from './run-values.js';

describe('normalQuery', () => {
  it('defaults the limit to 100 and falls back on nonsense', () => {
    expect(normalQuery().limit).toBe(100);
    expect(normalQuery({ limit: -1 }).limit).toBe(100);
    expect(normalQuery({ limit: Number.NaN }).limit).toBe(100);
    expect(normalQuery({ limit: 2.9 }).limit).toBe(2);
  });
  it('makes single kinds and statuses lists, and knows when nothing can match', () => {
    expect(normalQuery({ kind: 'backup', status: 'ok' })).toMatchObject({ kinds: ['backup'], statuses: ['ok'] });
    expect(matchesNothing(normalQuery({ kind: [] }))).toBe(true);
    expect(matchesNothing(normalQuery({ limit: 0 }))).toBe(true);
    expect(matchesNothing(normalQuery({ kind: ['backup'] }))).toBe(false);
  });
});

describe('row values', () => {
  it('gives each started run a fresh uuid', () => {
    const a = startRow({ kind: 'backup' });
    const b = startRow({ kind: 'backup' });
    expect(isRunId(a.id)).toBe(true);
    expect(a.id).not.toBe(b.id);
    expect(a.status).toBe('running');
  });
  it('records an instant event at its finish time', () => {
    const finishedAt = new Date('2026-01-01T00:00:00Z');
    expect(recordRow({ kind: 'killswitch', status: 'ok', finishedAt })).toMatchObject({ startedAt: finishedAt, finishedAt, status: 'ok' });
  });
  it('redacts urls in error messages', () => {
    expect(finishValues({ status: 'failed', error: { code: 'E', message: 'at redis://:pw@h:6379' } }).errorMessage).toBe('at redis://:***@h:6379');
  });
});

describe('figures', () => {
  it('redacts, keeps exact bigints, and round-trips', () => {
    const text = serializeFigures({ secret: 'x', n: 3n, huge: 2n ** 64n });
    expect(parseFigures(text)).toEqual({ secret: '***', n: 3, huge: '18446744073709551616' });
  });
  it('never lets one bad stored value break a listing', () => {
    expect(parseFigures('not json')).toEqual({ unparsable: 'not json' });
    expect(parseFigures('[1]')).toEqual({ value: [1] });
    expect(parseFigures(null)).toEqual({});
  });
});
