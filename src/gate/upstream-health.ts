/**
 * Polls the upstream's health URL: connection refused, a timeout or a 5xx marks it down. Without
 * a URL, the proxy's own connection errors and successes drive the same flag.
 */
export class UpstreamHealth {
  up = true;
  lastError: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly url: string | undefined,
    private readonly intervalMs: number,
  ) {}

  /** Starts polling (no-op without a URL). Not idempotent. */
  start(): void {
    if (!this.url) return;
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  /** Records what a proxied request learnt about the upstream. */
  observe(up: boolean, error?: string): void {
    this.up = up;
    this.lastError = up ? null : (error ?? 'unreachable');
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (this.running || !this.url) return;
    this.running = true;
    try {
      const response = await fetch(this.url, { signal: AbortSignal.timeout(Math.max(500, this.intervalMs)), redirect: 'manual' });
      await response.body?.cancel();
      if (response.status >= 500) this.observe(false, `health URL answered ${response.status}`);
      else this.observe(true);
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      this.observe(false, cause ?? (err instanceof Error ? err.message : String(err)));
    } finally {
      this.running = false;
    }
  }
}
