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
      return new PostgresRunner(url, spec.timeoutMs);
    case 'mysql':
      return new MysqlRunner(url, spec.timeoutMs);
    case 'redis':
      return new RedisRunner(url, spec.timeoutMs);
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

interface PgClientLike {
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'error', fn: (err: Error) => void): unknown;
}

/** Keeps one connection and runs `SELECT 1` on it: a probe must not pay a TCP+auth handshake each time. */
class PostgresRunner implements CheckRunner {
  readonly configured = true;
  private client: Promise<PgClientLike> | undefined;

  constructor(
    private readonly url: string,
    readonly timeoutMs: number | undefined,
  ) {}

  async run(): Promise<void> {
    this.client ??= this.connect();
    const client = await this.client;
    try {
      await client.query('SELECT 1');
    } catch (err) {
      this.reset();
      throw err;
    }
  }

  private async connect(): Promise<PgClientLike> {
    try {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 2000 });
      client.on('error', () => this.reset());
      await client.connect();
      return client;
    } catch (err) {
      this.client = undefined;
      throw err;
    }
  }

  reset(): void {
    const old = this.client;
    this.client = undefined;
    void old?.then((c) => c.end()).catch(() => undefined);
  }

  prepare(): void {
    this.client ??= this.connect();
    this.client.catch(() => undefined);
  }

  async close(): Promise<void> {
    this.reset();
  }
}

interface MysqlConnectionLike {
  query(sql: string): Promise<unknown>;
  destroy(): void;
  on(event: 'error', fn: (err: Error) => void): unknown;
}

class MysqlRunner implements CheckRunner {
  readonly configured = true;
  private conn: Promise<MysqlConnectionLike> | undefined;

  constructor(
    private readonly url: string,
    readonly timeoutMs: number | undefined,
  ) {}

  async run(): Promise<void> {
    this.conn ??= this.connect();
    const conn = await this.conn;
    try {
      await conn.query('SELECT 1');
    } catch (err) {
      this.reset();
      throw err;
    }
  }

  private async connect(): Promise<MysqlConnectionLike> {
    try {
      const mysql = await import('mysql2/promise');
      const conn = await mysql.createConnection({ uri: this.url, connectTimeout: 2000 });
      conn.on('error', () => this.reset());
      return conn as unknown as MysqlConnectionLike;
    } catch (err) {
      this.conn = undefined;
      throw err;
    }
  }

  reset(): void {
    const old = this.conn;
    this.conn = undefined;
    void old?.then((c) => c.destroy()).catch(() => undefined);
  }

  prepare(): void {
    this.conn ??= this.connect();
    this.conn.catch(() => undefined);
  }

  async close(): Promise<void> {
    this.reset();
  }
}

interface RedisLike {
  ping(): Promise<unknown>;
  disconnect(): void;
}

class RedisRunner implements CheckRunner {
  readonly configured = true;
  private client: Promise<RedisLike> | undefined;

  constructor(
    private readonly url: string,
    readonly timeoutMs: number | undefined,
  ) {}

  async run(): Promise<void> {
    this.client ??= this.connect();
    const client = await this.client;
    try {
      await client.ping();
    } catch (err) {
      this.reset();
      throw err;
    }
  }

  private async connect(): Promise<RedisLike> {
    try {
      const { Redis } = await import('ioredis');
      // No offline queue and no retries: a probe must fail now, not when Redis comes back.
      const client = new Redis(this.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
      client.on('error', () => undefined);
      await client.connect();
      return client;
    } catch (err) {
      this.client = undefined;
      throw err;
    }
  }

  reset(): void {
    const old = this.client;
    this.client = undefined;
    void old?.then((c) => c.disconnect()).catch(() => undefined);
  }

  prepare(): void {
    this.client ??= this.connect();
    this.client.catch(() => undefined);
  }

  async close(): Promise<void> {
    this.reset();
  }
}
