import { describe, expect, it } from 'vitest';
import { applyRetention } from './retention.js';

const hourlySnapshots = Array.from({ length: 24 * 40 }, (_, i) => ({
  id: `s${i}`,
  time: new Date(Date.UTC(2026, 9, 1) + i * 3_600_000).toISOString(),
}));

describe('retention', () => {
  it('keeps the newest of each hour, day, week and month with reasons', () => {
    const result = applyRetention(hourlySnapshots, { hourly: 24, daily: 7, weekly: 4, monthly: 12 });
    const kept = result.keep.map((k) => k.snapshot.id);
    // 24 hourly; days 2..7 add 6; weeks add up to 3 more; months: Oct 1 … Nov 9 → one more (end of October).
    expect(kept).toContain('s959');
    expect(result.keep.find((k) => k.snapshot.id === 's959')?.reasons).toEqual(
      expect.arrayContaining(['hourly 2026-11-09T23', 'daily 2026-11-09', 'monthly 2026-11']),
    );
    expect(kept).toContain(hourlySnapshots[24 * 31 - 1]!.id); // newest of October
    expect(kept.length + result.remove.length).toBe(hourlySnapshots.length);
    expect(kept.length).toBeLessThan(24 + 7 + 4 + 12 + 1);
    expect(kept.length).toBeGreaterThanOrEqual(24 + 6);
  });

  it('keeps the last N and everything within a duration', () => {
    expect(applyRetention(hourlySnapshots, { last: 3 }).keep.map((k) => k.snapshot.id)).toEqual(['s959', 's958', 's957']);
    expect(applyRetention(hourlySnapshots, { within: 5 * 3_600_000 }).keep).toHaveLength(6);
  });

  it('keeps everything when no rule is given', () => {
    expect(applyRetention(hourlySnapshots, {}).remove).toHaveLength(0);
  });
});
