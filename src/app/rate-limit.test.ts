import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.js';

describe('RateLimiter', () => {
  it('allows N per window per client and resets with the next window', () => {
    const limiter = new RateLimiter(2, 1000);
    expect([limiter.take('a', 0), limiter.take('a', 10), limiter.take('a', 20)]).toEqual([true, true, false]);
    expect(limiter.take('b', 30)).toBe(true);
    expect(limiter.retryAfter(500)).toBe(1);
    expect(limiter.take('a', 1000)).toBe(true);
  });
});
