/**
 * A fixed-window counter per client. The whole table is dropped at each window's end, so memory
 * stays bounded by the clients seen in one window and no per-entry timers exist.
 */
export class RateLimiter {
  private counts = new Map<string, number>();
  private windowStart = 0;

  constructor(
    readonly requests: number,
    readonly perMs: number,
  ) {}

  /** Counts one request of `client`; true when it is within the limit. Never throws. */
  take(client: string, now: number = Date.now()): boolean {
    if (now - this.windowStart >= this.perMs) {
      this.counts.clear();
      this.windowStart = now;
    }
    const count = (this.counts.get(client) ?? 0) + 1;
    this.counts.set(client, count);
    return count <= this.requests;
  }

  /** Seconds until the current window ends, at least 1. */
  retryAfter(now: number = Date.now()): number {
    return Math.max(1, Math.ceil((this.windowStart + this.perMs - now) / 1000));
  }
}
