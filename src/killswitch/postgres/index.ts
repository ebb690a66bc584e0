import pg from 'pg';
import { redactUrl } from '../../config/redact.js';
import { OFF_STATE, parseModeState, type ModeState } from '../mode.js';
import type { ModeStore, StoreListener } from '../store.js';
import { storeError, withTimeout } from '../timeout.js';

export interface PostgresModeStoreOptions {
  /** The row name, so several applications can share one table. Default `default`. */
  key?: string;
  /** How long one operation may wait for the server. Default 2000 ms. */
  timeoutMs?: number;
}

const TABLE = 'reprise_killswitch';
const CHANNEL = 'reprise_killswitch';
const CREATE = `CREATE TABLE IF NOT EXISTS ${TABLE} (
  name text PRIMARY KEY,
  state jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
)`;

/**
 * A mode store in a PostgreSQL table, with changes pushed by NOTIFY in the same transaction as
 * the write, so a listener never hears of a change that was rolled back.
 */
export class PostgresModeStore implements ModeStore {
  readonly description: string;
  private readonly key: string;
  private readonly timeoutMs: number;
  private readonly pool: pg.Pool;
  private readonly stops = new Set<() => void>();

  constructor(private readonly url: string, options: PostgresModeStoreOptions = {}) {
    this.description = redactUrl(url);
    this.key = options.key ?? 'default';
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.pool = new pg.Pool({
      connectionString: url,
      max: 2,
      connectionTimeoutMillis: this.timeoutMs,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
    });
    this.pool.on('error', () => undefined);
  }

  /** Throws REPRISE_KILLSWITCH_STORE when PostgreSQL does not answer in time. Idempotent. */
  async read(signal?: AbortSignal): Promise<ModeState> {
    const label = `killswitch store ${this.description}: read`;
    try {
      const result = await withTimeout(this.pool.query(`SELECT state FROM ${TABLE} WHERE name = $1`, [this.key]), this.timeoutMs, label, signal);
      const row = result.rows[0] as { state: unknown } | undefined;
      if (!row) return OFF_STATE;
      const state = parseModeState(row.state);
      if (!state) throw new Error(`row ${this.key} does not hold a killswitch state`);
      return state;
    } catch (err) {
      // Nobody has written yet: the table does not exist, which means `off`.
      if ((err as { code?: string }).code === '42P01') return OFF_STATE;
      throw storeError(err, label);
    }
  }

  /** Upserts the row and NOTIFYs in one transaction. Throws REPRISE_KILLSWITCH_STORE. Idempotent. */
  async write(state: ModeState, signal?: AbortSignal): Promise<void> {
    const label = `killswitch store ${this.description}: write`;
    const work = async (): Promise<void> => {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        // Serialises concurrent first writers, whose CREATE TABLE IF NOT EXISTS would otherwise race.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [TABLE]);
        await client.query(CREATE);
        await client.query(
          `INSERT INTO ${TABLE} (name, state, updated_at) VALUES ($1, $2, now())
           ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`,
          [this.key, JSON.stringify(state)],
        );
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify({ name: this.key, state })]);
        await client.query('COMMIT');
        client.release();
      } catch (err) {
        client.release(err as Error);
        throw err;
      }
    };
    try {
      await withTimeout(work(), this.timeoutMs, label, signal);
    } catch (err) {
      throw storeError(err, label);
    }
  }

  /** LISTENs on a connection of its own, reconnecting with backoff when it drops. Never throws. */
  subscribe(listener: StoreListener): () => void {
    let stopped = false;
    let client: pg.Client | undefined;
    let timer: NodeJS.Timeout | undefined;
    let up = true;
    let attempt = 0;
    const down = (err: Error): void => {
      if (client) {
        client.removeAllListeners();
        client.on('error', () => undefined);
        client.end().catch(() => undefined);
        client = undefined;
      }
      if (up) {
        up = false;
        listener.status(false, err);
      }
      if (!stopped && !timer) {
        attempt += 1;
        timer = setTimeout(connect, Math.min(100 * attempt, 1000));
        timer.unref();
      }
    };
    const connect = (): void => {
      timer = undefined;
      if (stopped) return;
      const c = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: this.timeoutMs, keepAlive: true });
      client = c;
      c.on('error', (err) => down(err));
      c.on('end', () => {
        if (!stopped) down(new Error(`connection to ${this.description} ended`));
      });
      c.on('notification', (msg) => {
        if (msg.channel !== CHANNEL || !msg.payload) return;
        try {
          const body = JSON.parse(msg.payload) as { name?: unknown; state?: unknown };
          if (body.name !== this.key) return;
          const state = parseModeState(body.state);
          if (state) listener.change(state);
        } catch {
          // Someone else's NOTIFY on our channel: not ours to act on.
        }
      });
      c.connect()
        .then(() => c.query(`LISTEN ${CHANNEL}`))
        .then(() => {
          if (stopped) return void c.end().catch(() => undefined);
          attempt = 0;
          if (!up) {
            up = true;
            listener.status(true);
          }
        })
        .catch((err: Error) => {
          if (client === c) down(err);
        });
    };
    connect();
    const stop = (): void => {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (client) {
        client.removeAllListeners();
        client.on('error', () => undefined);
        client.end().catch(() => undefined);
      }
      this.stops.delete(stop);
    };
    this.stops.add(stop);
    return stop;
  }

  async close(): Promise<void> {
    for (const stop of [...this.stops]) stop();
    await this.pool.end().catch(() => undefined);
  }
}
