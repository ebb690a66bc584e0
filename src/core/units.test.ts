import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, parseDuration, parsePercent, parseSize } from './units.js';

describe('units', () => {
  it('parses durations', () => {
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('21d')).toBe(21 * 86_400_000);
    expect(parseDuration('soon')).toBeUndefined();
    expect(parseDuration('10')).toBeUndefined();
  });
  it('parses sizes', () => {
    expect(parseSize('500MiB')).toBe(500 * 2 ** 20);
    expect(parseSize('50GiB')).toBe(50 * 2 ** 30);
    expect(parseSize('10MB')).toBe(10_000_000);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('12 parsecs')).toBeUndefined();
  });
  it('parses percentages', () => {
    expect(parsePercent('80%')).toBe(80);
    expect(parsePercent('180%')).toBeUndefined();
  });
  it('formats', () => {
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(12)).toBe('12 B');
    expect(formatDuration(92_000)).toBe('1m 32s');
    expect(formatDuration(450)).toBe('450ms');
  });
});
