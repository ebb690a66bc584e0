import { effectiveState, OFF_STATE, sameState, type ModeState } from './mode.js';
import type { ModeStore } from './store.js';

export interface StoreHealth {
  status: 'ok' | 'degraded';
  /** The store's URL with secrets hidden. */
  store: string;
  /** Why the store is degraded. */
  error: string | null;
  /** Last time the store answered or pushed, ISO-8601; null when never. */
  lastContact: string | null;
}

export interface ModeTrackerOptions {
  /** Re-reads the store this often, as a backstop for missed notifications. Default 5000 ms. */
  pollMs?: number;
}

/**
 * Holds the mode in memory for the hot path: the store's subscription updates it, a slow poll
 * backs it up, an expiry timer lapses it to `off`. When the store is unreachable the last known
 * state stays in force (never flips open by itself) and the store is reported degraded.
 */
export class ModeTracker {
  /** The state in force; read it freely, it costs nothing. */
  current: ModeState = OFF_STATE;
  private stored: ModeState = OFF_STATE;
  private health: StoreHealth;
  private readonly listeners = new Set<(state: ModeState) => void>();
  private unsubscribe: (() => void) | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  // Bumped by every pushed change, so a poll answer that left before the push cannot undo it.
  private generation = 0;
  private readonly pollMs: number;
  private stopped = false;

  constructor(readonly store: ModeStore, options: ModeTrackerOptions = {}) {
    this.pollMs = options.pollMs ?? 5000;
    this.health = { status: 'ok', store: store.description, error: null, lastContact: null };
  }

  /**
   * Subscribes and reads the store once. Resolves even when the store is down (the mode stays
   * `off` until it is first read, and the store is reported degraded). Never throws; not idempotent.
   */
  async start(): Promise<void> {
    this.unsubscribe = this.store.subscribe({
      change: (state) => {
        this.generation += 1;
        this.contact();
        this.apply(state);
      },
      status: (ok, error) => {
        if (ok) void this.refresh();
        else this.degrade(error);
      },
    });
    this.pollTimer = setInterval(() => void this.refresh(), this.pollMs);
    this.pollTimer.unref();
    await this.refresh();
  }

  /** Reads the store now and applies what it holds. Never throws. */
  async refresh(): Promise<void> {
    const generation = this.generation;
    try {
      const state = await this.store.read();
      this.contact();
      if (generation === this.generation && !this.stopped) this.apply(state);
    } catch (err) {
      this.degrade(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** How the store is doing, for /health/detailed. Never throws. */
  storeHealth(): StoreHealth {
    return { ...this.health };
  }

  /** Calls `fn` on every change of the state in force; returns the function that stops it. */
  onChange(fn: (state: ModeState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Stops subscription and timers; does not close the store. Idempotent. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearInterval(this.pollTimer);
    clearTimeout(this.expiryTimer);
  }

  private contact(): void {
    this.health = { status: 'ok', store: this.store.description, error: null, lastContact: new Date().toISOString() };
  }

  private degrade(error: Error | undefined): void {
    this.health = { ...this.health, status: 'degraded', error: error?.message ?? 'store unreachable' };
  }

  private apply(state: ModeState): void {
    if (this.stopped) return;
    this.stored = state;
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    const now = Date.now();
    const effective = effectiveState(state, now);
    if (effective.mode !== 'off' && effective.until !== null) {
      // setTimeout caps at ~24.8 days; a longer expiry is re-armed by the next poll.
      const delay = Math.min(Date.parse(effective.until) - now, 2 ** 31 - 1);
      this.expiryTimer = setTimeout(() => this.apply(this.stored), delay);
      this.expiryTimer.unref();
    }
    if (sameState(effective, this.current)) return;
    this.current = effective;
    for (const fn of this.listeners) fn(effective);
  }
}
