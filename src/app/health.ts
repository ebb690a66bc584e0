import type { Server } from 'node:http';
import { createCheckRunner, type CheckRunner, type CheckSpec } from './checks.js';
import type { Killswitch } from './killswitch.js';
import { jsonReply, type Reply } from './reply.js';

export type CheckStatus = 'ok' | 'error' | 'not_configured';

export interface ReadyResult {
  status: 'ok' | 'error' | 'shutting_down';
  checks: Record<string, CheckStatus>;
}

export interface CheckDetail {
  status: CheckStatus;
  latency_ms: number | null;
  error?: string;
}

type Figures = Record<string, unknown>;
type FigureSource = Figures | (() => Figures | Promise<Figures>);

export interface HealthOptions {
  checks?: Record<string, CheckSpec>;
  /** Per-check timeout; default 500 ms so `/ready` fits a 1 s probe. */
  timeoutMs?: number;
  /** How long a `/ready` result is reused; default 1000 ms. Concurrent probes share one run anyway. */
  cacheMs?: number;
  /** Shown by /health/detailed; default the npm_package_version of the process. */
  version?: string;
  /** User figures for /health/detailed (request counts, queue depth…). */
  statistics?: FigureSource;
  /** Integrity figures for /health/detailed (e.g. `{ valid_json_percent: 99.2 }`). */
  integrity?: FigureSource;
  /** Adds the mode and the store's health to /health/detailed. */
  killswitch?: Killswitch;
  /** Paths served; defaults /health, /ready, /health/detailed. */
  paths?: { health?: string; ready?: string; detailed?: string };
}

/**
 * Liveness, readiness and details. Readiness results are cached briefly and computed once for
 * any number of concurrent probes, so a probe storm costs the database a handful of queries.
 */
export class Health {
  readonly paths: { health: string; ready: string; detailed: string };
  private readonly runners: [string, CheckRunner][];
  private readonly timeoutMs: number;
  private readonly cacheMs: number;
  private readonly started = Date.now();
  private inflight: Promise<Record<string, CheckDetail>> | undefined;
  private cached: { at: number; details: Record<string, CheckDetail> } | undefined;
  private stopping = false;

  constructor(private readonly options: HealthOptions = {}) {
    this.runners = Object.entries(options.checks ?? {}).map(([name, spec]) => [name, createCheckRunner(spec)]);
    this.timeoutMs = options.timeoutMs ?? 500;
    this.cacheMs = options.cacheMs ?? 1000;
    this.paths = {
      health: options.paths?.health ?? '/health',
      ready: options.paths?.ready ?? '/ready',
      detailed: options.paths?.detailed ?? '/health/detailed',
    };
    for (const [, runner] of this.runners) runner.prepare();
  }

  /** True once shutdown began: /ready answers 503 from then on. */
  get shuttingDown(): boolean {
    return this.stopping;
  }

  /** Marks the process as leaving: /ready turns 503 at once, /health stays 200. Idempotent. */
  beginShutdown(): void {
    this.stopping = true;
  }

  /** Liveness: answers as long as the event loop turns; touches no dependency. Never throws. */
  liveness(): Reply {
    return jsonReply(200, { status: 'ok' });
  }

  /** Readiness: every check, in parallel, each bounded by its timeout. Never throws. */
  async ready(): Promise<ReadyResult> {
    if (this.stopping) return { status: 'shutting_down', checks: {} };
    const details = await this.details();
    const checks: Record<string, CheckStatus> = {};
    let ok = true;
    for (const [name, detail] of Object.entries(details)) {
      checks[name] = detail.status;
      if (detail.status === 'error') ok = false;
    }
    return { status: this.stopping ? 'shutting_down' : ok ? 'ok' : 'error', checks };
  }

  /** Everything: checks with latency, version, uptime, killswitch, user figures. Never throws. */
  async detailed(): Promise<Record<string, unknown>> {
    const [checks, statistics, integrity] = await Promise.all([this.details(), figures(this.options.statistics), figures(this.options.integrity)]);
    const failed = Object.values(checks).some((c) => c.status === 'error');
    const ks = this.options.killswitch;
    const state = ks?.state();
    return {
      status: this.stopping ? 'shutting_down' : failed ? 'error' : 'ok',
      version: this.options.version ?? process.env.npm_package_version ?? null,
      uptime_s: Math.round((Date.now() - this.started) / 1000),
      pid: process.pid,
      memory_rss_bytes: process.memoryUsage.rss(),
      checks,
      ...(ks ? { killswitch: { mode: ks.mode, reason: state?.reason ?? null, since: state?.since ?? null, until: state?.until ?? null, store: ks.storeHealth() } } : {}),
      ...(statistics ? { statistics } : {}),
      ...(integrity ? { integrity } : {}),
    };
  }

  /** The reply for a health path, or undefined for any other path. Never throws. */
  handle(path: string): Promise<Reply> | undefined {
    if (path === this.paths.health) return Promise.resolve(this.liveness());
    if (path === this.paths.ready) {
      return this.ready().then((result) => jsonReply(result.status === 'ok' ? 200 : 503, result));
    }
    if (path === this.paths.detailed) {
      return this.detailed().then(
        (body) => jsonReply(body.status === 'ok' ? 200 : 503, body),
        (err: unknown) => jsonReply(500, { status: 'error', error: String(err) }),
      );
    }
    return undefined;
  }

  /** Closes the checks' connections. Idempotent; never throws. */
  async close(): Promise<void> {
    await Promise.all(this.runners.map(([, r]) => r.close()));
  }

  private details(): Promise<Record<string, CheckDetail>> {
    const cached = this.cached;
    if (cached && Date.now() - cached.at < this.cacheMs) return Promise.resolve(cached.details);
    this.inflight ??= this.runAll().then((details) => {
      this.cached = { at: Date.now(), details };
      this.inflight = undefined;
      return details;
    });
    return this.inflight;
  }

  private async runAll(): Promise<Record<string, CheckDetail>> {
    const results = await Promise.all(this.runners.map(async ([name, runner]) => [name, await this.runOne(runner)] as const));
    return Object.fromEntries(results);
  }

  private async runOne(runner: CheckRunner): Promise<CheckDetail> {
    if (!runner.configured) return { status: 'not_configured', latency_ms: null };
    const timeoutMs = runner.timeoutMs ?? this.timeoutMs;
    const controller = new AbortController();
    const start = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        // The connection may be wedged (a silent network): the next probe must not wait on it.
        runner.reset();
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      await Promise.race([runner.run(controller.signal), timeout]);
      return { status: 'ok', latency_ms: Math.round((performance.now() - start) * 10) / 10 };
    } catch (err) {
      return { status: 'error', latency_ms: Math.round((performance.now() - start) * 10) / 10, error: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  }
}

async function figures(source: FigureSource | undefined): Promise<Figures | undefined> {
  if (source === undefined) return undefined;
  try {
    return typeof source === 'function' ? await source() : source;
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** Creates the health endpoints; no check connects before the first probe. Never throws. */
export function createHealth(options: HealthOptions = {}): Health {
  return new Health(options);
}

export interface GracefulShutdownOptions {
  /** How long /ready says 503 before the server stops accepting, so load balancers move away. Default 5000 ms. */
  drainMs?: number;
  /** After draining, how long in-flight requests may take before connections are cut. Default 10000 ms. */
  closeTimeoutMs?: number;
  /** Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  /** Called when the server has closed (e.g. to close pools, then exit). Default: process.exit(0). */
  onClosed?: () => void | Promise<void>;
}

/**
 * On SIGTERM: /ready turns 503 at once, requests keep being served for `drainMs`, then the
 * server stops accepting and waits for in-flight requests. Returns the function that removes
 * the handlers. Never throws; calling it twice installs twice.
 */
export function gracefulShutdown(server: Server, health: Health, options: GracefulShutdownOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const drainMs = options.drainMs ?? 5000;
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  const onSignal = (): void => {
    if (health.shuttingDown) return;
    health.beginShutdown();
    setTimeout(() => {
      const force = setTimeout(() => server.closeAllConnections(), closeTimeoutMs);
      force.unref();
      server.close(() => {
        clearTimeout(force);
        void Promise.resolve(options.onClosed ? options.onClosed() : process.exit(0)).catch(() => process.exit(1));
      });
      server.closeIdleConnections();
    }, drainMs).unref();
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
