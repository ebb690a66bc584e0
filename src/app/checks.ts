import { redactUrl } from '../config/redact.js';

/** A check run by `/ready`: a dependency named by URL, or a function that throws when unhealthy. */
export type CheckSpec =
  | { type: 'postgres' | 'mysql' | 'redis' | 'http'; url: string | undefined; timeoutMs?: number }
  | { type: 'custom'; run: (signal: AbortSignal) => unknown; timeoutMs?: number }
  | ((signal: AbortSignal) => unknown);

/** One probe of one dependency; drivers are loaded on first use. */
export interface CheckRunner {
  readonly configured: boolean;
  readonly timeoutMs: number | undefined;
  /** Resolves when healthy; rejects with the cause otherwise. */
  run(signal: AbortSignal): Promise<void>;
  /** Drops a connection that may be stuck, so the next probe starts fresh. */
  reset(): void;
  /** Loads the driver and connects ahead of the first probe, which must fit its timeout. Never throws. */
  prepare(): void;
  close(): Promise<void>;
}

/** Builds the runner for a spec; no connection is opened until the first run. Never throws. */
export function createCheckRunner(spec: CheckSpec): CheckRunner {
  if (typeof spec === 'function') return functionRunner(spec, undefined);
  if (spec.type === 'custom') return functionRunner(spec.run, spec.timeoutMs);
  const url = spec.url;
  if (url === undefined || url === '') return notConfigured(spec.timeoutMs);
  switch (spec.type) {
    case 'postgres':
      return new ConnectionRunner(postgresDriver, url, spec.timeoutMs);
    case 'mysql':
      return new ConnectionRunner(mysqlDriver, url, spec.timeoutMs);
    case 'redis':
      return new ConnectionRunner(redisDriver, url, spec.timeoutMs);
    case 'http':
      return httpRunner(url, spec.timeoutMs);
  }
}

function functionRunner(fn: (signal: AbortSignal) => unknown, timeoutMs: number | undefined): CheckRunner {
  return {
    configured: true,
    timeoutMs,
    run: async (signal) => {
      const result = await fn(signal);
      if (result === false) throw new Error('check returned false');
    },
    reset: () => undefined,
    prepare: () => undefined,
    close: async () => undefined,
  };
}

function notConfigured(timeoutMs: number | undefined): CheckRunner {
  return { configured: false, timeoutMs, run: async () => undefined, reset: () => undefined, prepare: () => undefined, close: async () => undefined };
}

function httpRunner(url: string, timeoutMs: number | undefined): CheckRunner {
  return {
    configured: true,
    timeoutMs,
    run: async (signal) => {
      const response = await fetch(url, { signal, redirect: 'manual' });
      await response.body?.cancel();
      if (response.status >= 400) throw new Error(`${redactUrl(url)} answered ${response.status}`);
    },
    reset: () => undefined,
    prepare: () => undefined,
    close: async () => undefined,
  };
}

/** How one driver connects, pings and lets go of its connection. */
interface Driver<C> {
  connect(url: string, onBroken: () => void): Promise<C>;
  ping(connection: C): Promise<unknown>;
  dispose(connection: C): unknown;
}

/**
 * Keeps one connection and pings it: a probe must not pay a TCP+auth handshake each time. A failed
 * ping or a connection error drops the connection so the next probe starts fresh.
 */
class ConnectionRunner<C> implements CheckRunner {
  readonly configured = true;
  private connection: Promise<C> | undefined;

  constructor(
    private readonly driver: Driver<C>,
    private readonly url: string,
    readonly timeoutMs: number | undefined,
  ) {}

  async run(): Promise<void> {
    const connection = await this.connected();
    try {
      await this.driver.ping(connection);
    } catch (err) {
      this.reset();
      throw err;
    }
  }

  private connected(): Promise<C> {
    this.connection ??= this.driver.connect(this.url, () => this.reset()).catch((err: unknown) => {
      this.connection = undefined;
      throw err;
    });
    return this.connection;
  }

  reset(): void {
    const old = this.connection;
    this.connection = undefined;
    void old?.then((c) => this.driver.dispose(c)).catch(() => undefined);
  }

  prepare(): void {
    this.connected().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.reset();
  }
}

interface PgClientLike {
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}

const postgresDriver: Driver<PgClientLike> = {
  async connect(url, onBroken) {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    client.on('error', onBroken);
    await client.connect();
    return client;
  },
  ping: (client) => client.query('SELECT 1'),
  dispose: (client) => client.end(),
};

interface MysqlConnectionLike {
  query(sql: string): Promise<unknown>;
  destroy(): void;
  on(event: 'error', fn: (err: Error) => void): unknown;
}

const mysqlDriver: Driver<MysqlConnectionLike> = {
  async connect(url, onBroken) {
    const mysql = await import('mysql2/promise');
    const conn = (await mysql.createConnection({ uri: url, connectTimeout: 2000 })) as unknown as MysqlConnectionLike;
    conn.on('error', onBroken);
    return conn;
  },
  ping: (conn) => conn.query('SELECT 1'),
  dispose: (conn) => conn.destroy(),
};

interface RedisLike {
  ping(): Promise<unknown>;
  disconnect(): void;
}

const redisDriver: Driver<RedisLike> = {
  async connect(url) {
    const { Redis } = await import('ioredis');
    // No offline queue and no retries: a probe must fail now, not when Redis comes back.
    const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  },
  ping: (client) => client.ping(),
  dispose: (client) => client.disconnect(),
};
