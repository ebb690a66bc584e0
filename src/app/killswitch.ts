import { ModeTracker, type StoreHealth } from '../killswitch/mode-tracker.js';
import type { Mode, ModeState } from '../killswitch/mode.js';
import { openModeStore } from '../killswitch/open-store.js';
import type { ModeStore } from '../killswitch/store.js';
import { blockedReply, retryAfterSeconds, wantsHtml } from './maintenance-page.js';
import { RateLimiter } from './rate-limit.js';
import type { Reply, RequestInfo } from './reply.js';

export interface KillswitchOptions {
  /** An open store, or its URL as in `killswitch.store` (opened with the driver it names). */
  store: ModeStore | string;
  /** Folder that a relative file store path is resolved against. Default: the working directory. */
  baseDir?: string;
  /** `killswitch.key`: the Redis key or PostgreSQL row name. */
  key?: string;
  /** Shown when the mode carries no message of its own. */
  message?: string;
  /** Page title for browsers. */
  title?: string;
  /** `Retry-After` in seconds when the mode has no expiry. Default 300. */
  retryAfter?: number;
  /** Requests with header `x-reprise-bypass: TOKEN` or cookie `reprise_bypass=TOKEN` always pass. */
  bypassToken?: string;
  /** Features that `isEnabled` turns off in `degraded` (and `maintenance`) mode. */
  nonCriticalFeatures?: string[];
  /** Per-client limit in `degraded` mode. Default 10 requests per second. */
  rateLimit?: { requests: number; perMs: number };
  /** Paths that always pass (health probes). Default /health, /ready, /health/detailed. */
  passPaths?: string[];
  /** Backstop re-read of the store. Default 5000 ms. */
  pollMs?: number;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const DEFAULT_PASS = ['/health', '/ready', '/health/detailed'];

/**
 * The killswitch as an application sees it: the mode in memory, kept current by the store's
 * subscription, and `decide()` that turns a request into a block reply or nothing.
 */
export class Killswitch {
  /** Resolves once the store was read the first time (or found unreachable). Never rejects. */
  readonly ready: Promise<void>;
  private tracker: ModeTracker | undefined;
  private store: ModeStore | undefined;
  private readonly ownsStore: boolean;
  private readonly pass: Set<string>;
  private readonly nonCritical: Set<string>;
  private readonly limiter: RateLimiter;
  private readonly bypassCookie: string | undefined;
  private closed = false;

  constructor(private readonly options: KillswitchOptions) {
    this.pass = new Set(options.passPaths ?? DEFAULT_PASS);
    this.nonCritical = new Set(options.nonCriticalFeatures ?? []);
    this.limiter = new RateLimiter(options.rateLimit?.requests ?? 10, options.rateLimit?.perMs ?? 1000);
    this.bypassCookie = options.bypassToken ? `reprise_bypass=${options.bypassToken}` : undefined;
    this.ownsStore = typeof options.store === 'string';
    this.ready = this.start();
  }

  private async start(): Promise<void> {
    try {
      const store =
        typeof this.options.store === 'string'
          ? await openModeStore(this.options.store, this.options.baseDir, { key: this.options.key })
          : this.options.store;
      if (this.closed) {
        if (this.ownsStore) await store.close();
        return;
      }
      this.store = store;
      this.tracker = new ModeTracker(store, this.options.pollMs !== undefined ? { pollMs: this.options.pollMs } : {});
      await this.tracker.start();
    } catch {
      // A bad store URL leaves the killswitch off; storeHealth() says why.
    }
  }

  /** The mode in force; costs a property read. */
  get mode(): Mode {
    return this.tracker?.current.mode ?? 'off';
  }

  /** The full state in force (`since`, `until`, `reason`, …). */
  state(): ModeState | undefined {
    return this.tracker?.current;
  }

  /** How the store is doing, for /health/detailed. Never throws. */
  storeHealth(): StoreHealth {
    if (this.tracker) return this.tracker.storeHealth();
    const store = typeof this.options.store === 'string' ? this.options.store : this.options.store.description;
    return { status: 'degraded', store, error: 'store not opened', lastContact: null };
  }

  /** Calls `fn` on every change of mode; returns the function that stops it. */
  onChange(fn: (state: ModeState) => void): () => void {
    const tracker = this.tracker;
    if (tracker) return tracker.onChange(fn);
    let stop: (() => void) | undefined;
    let cancelled = false;
    void this.ready.then(() => {
      if (!cancelled && this.tracker) stop = this.tracker.onChange(fn);
    });
    return () => {
      cancelled = true;
      stop?.();
    };
  }

  /**
   * False for a feature declared non-critical while the mode is `degraded` or `maintenance`;
   * true otherwise. Never throws.
   */
  isEnabled(feature: string): boolean {
    const mode = this.mode;
    if (mode === 'off' || mode === 'read_only') return true;
    return !this.nonCritical.has(feature);
  }

  /**
   * What to answer instead of the application, or undefined to let the request through. In mode
   * `off` this is one property read. Never throws.
   */
  decide(req: RequestInfo): Reply | undefined {
    const state = this.tracker?.current;
    if (state === undefined || state.mode === 'off') return undefined;
    if (this.pass.has(req.path) || this.bypassed(req)) return undefined;
    const message = state.message ?? this.options.message;
    switch (state.mode) {
      case 'maintenance':
        return blockedReply(state, {
          status: 503,
          error: 'maintenance',
          message: message ?? 'The service is down for maintenance. Please try again later.',
          retryAfter: retryAfterSeconds(state, this.options.retryAfter ?? 300),
          html: wantsHtml(req.header('accept')),
          title: this.options.title ?? 'Down for maintenance',
        });
      case 'read_only':
        if (SAFE_METHODS.has(req.method)) return undefined;
        return blockedReply(state, {
          status: 503,
          error: 'read_only',
          message: message ?? 'The service is read-only for now: changes cannot be saved. Please try again later.',
          retryAfter: retryAfterSeconds(state, this.options.retryAfter ?? 300),
          html: wantsHtml(req.header('accept')),
          title: this.options.title ?? 'Read-only for now',
        });
      case 'degraded':
        if (this.limiter.take(req.client)) return undefined;
        return blockedReply(state, {
          status: 429,
          error: 'rate_limited',
          message: message ?? 'The service is under reduced capacity. Please slow down.',
          retryAfter: this.limiter.retryAfter(),
          html: wantsHtml(req.header('accept')),
          title: this.options.title ?? 'Too many requests',
        });
    }
  }

  /** Stops watching the store, and closes it when it was opened from a URL. Idempotent; never throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ready;
    this.tracker?.stop();
    if (this.ownsStore) await this.store?.close();
  }

  private bypassed(req: RequestInfo): boolean {
    const token = this.options.bypassToken;
    if (!token) return false;
    if (req.header('x-reprise-bypass') === token) return true;
    const cookie = req.header('cookie');
    return cookie !== undefined && this.bypassCookie !== undefined && cookie.split(/;\s*/).includes(this.bypassCookie);
  }
}

/**
 * Creates the killswitch and starts following its store (await `.ready` before serving to know
 * the mode at start). Throws nothing: a store that is down leaves the mode `off` until first read,
 * and is reported degraded. Not idempotent (each call subscribes anew).
 */
export function createKillswitch(options: KillswitchOptions): Killswitch {
  return new Killswitch(options);
}

/** The `killswitch:` section of reprise.yaml as the config loader outputs it (durations in ms). */
export interface KillswitchConfigSection {
  store: string;
  key?: string | undefined;
  message?: string | undefined;
  retry_after?: number | undefined;
  bypass_token?: string | undefined;
  non_critical_features?: string[] | undefined;
  rate_limit?: { requests: number; per: number } | undefined;
}

/** Maps the `killswitch:` configuration section to createKillswitch options. Pure. */
export function killswitchOptionsFromConfig(section: KillswitchConfigSection, baseDir: string): KillswitchOptions {
  return {
    store: section.store,
    baseDir,
    ...(section.key !== undefined ? { key: section.key } : {}),
    ...(section.message !== undefined ? { message: section.message } : {}),
    ...(section.retry_after !== undefined ? { retryAfter: Math.round(section.retry_after / 1000) } : {}),
    ...(section.bypass_token !== undefined ? { bypassToken: section.bypass_token } : {}),
    ...(section.non_critical_features !== undefined ? { nonCriticalFeatures: section.non_critical_features } : {}),
    ...(section.rate_limit !== undefined ? { rateLimit: { requests: section.rate_limit.requests, perMs: section.rate_limit.per } } : {}),
  };
}
