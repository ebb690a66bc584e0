import { hostname } from 'node:os';
import pg from 'pg';
import { RepriseError } from '../../core/errors.js';
import { redactUrl } from '../../config/redact.js';
import type { Catalog, FinishRun, RunKind, RunQuery, RunRecord, RunStatus, StartRun } from '../catalog.js';
import { parseFigures } from '../figures.js';
import { assertNotNewer } from '../migration.js';
import type { ProcessIdentity } from '../../core/process-identity.js';
import {
  finishValues,
  isRunId,
  lostProcessValues,
  matchesNothing,
  normalQuery,
  orphansAmong,
  PROCESS_LOST,
  recordRow,
  RUNNING_COLUMNS,
  startRow,
  type RunningRow,
  type RunRow,
} from '../run-values.js';
import { POSTGRES_MIGRATIONS, SCHEMA } from './migrations.js';

export interface PostgresCatalogOptions {
  /** Schema holding the catalog tables (default `reprise`); created if missing. */
  schema?: string;
  /** Most connections this catalog opens (default 5); a running withLock holds one. */
  maxConnections?: number;
  /** How long to wait for a connection before failing (default 10 s). */
  connectTimeoutMs?: number;
}

interface StoredRun {
  id: string;
  kind: string;
  subject: string | null;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  host: string;
  actor: string | null;
  figures: unknown;
  error_code: string | null;
  error_message: string | null;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Opens the PostgreSQL catalog at `url` and applies pending migrations, in one transaction that
 * holds a transaction-level advisory lock, so agents starting together migrate exactly once.
 * Throws REPRISE_CATALOG (the url's password redacted) when the server cannot be reached, refuses
 * the login, or holds a schema newer than this build. Idempotent.
 */
export async function openPostgresCatalog(url: string, options: PostgresCatalogOptions = {}): Promise<Catalog> {
  const schema = options.schema ?? 'reprise';
  const name = redactUrl(url);
  if (!SCHEMA_NAME.test(schema)) {
    throw new RepriseError('REPRISE_CATALOG', `catalog ${name}: invalid schema name ${JSON.stringify(schema)}`, {
      hint: 'Use lower-case letters, digits and underscores for the catalog schema name.',
    });
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 5,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: 'reprise-catalog',
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  try {
    await migrate(pool, schema, name);
  } catch (err) {
    await pool.end().catch(() => {});
    throw wrap(err, name, 'open');
  }
  return new PostgresCatalog(pool, schema, name);
}

async function migrate(pool: pg.Pool, schema: string, name: string): Promise<void> {
  const client = await pool.connect();
  const q = quoteIdent(schema);
  try {
    await client.query('BEGIN');
    // Xact-level: released by COMMIT/ROLLBACK even if this process dies mid-way.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`reprise.catalog.migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${q}.schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);
    const result = await client.query<{ v: number }>(`SELECT COALESCE(MAX(version), 0)::int AS v FROM ${q}.schema_migrations`);
    const applied = result.rows[0]?.v ?? 0;
    assertNotNewer(applied, POSTGRES_MIGRATIONS, name);
    for (const migration of POSTGRES_MIGRATIONS) {
      if (migration.version <= applied) continue;
      for (const statement of migration.statements) await client.query(statement.replaceAll(SCHEMA, q));
      await client.query(`INSERT INTO ${q}.schema_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
    }
    await client.query('COMMIT');
    client.release();
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    client.release(true);
    throw err;
  }
}

function quoteIdent(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function wrap(err: unknown, name: string, operation: string): RepriseError {
  if (err instanceof RepriseError) return err;
  // Driver messages may quote the connection string.
  const message = redactUrl(err instanceof Error ? err.message : String(err));
  return new RepriseError('REPRISE_CATALOG', `catalog ${name}: ${operation} failed: ${message}`, { cause: err });
}

const RECORD_COLUMNS = 'id, kind, subject, status, started_at, finished_at, host, actor, figures, error_code, error_message';
const INSERT_COLUMNS = `${RECORD_COLUMNS}, pid, process_namespace, process_started_at`;

class PostgresCatalog implements Catalog {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #runs: string;
  readonly #name: string;
  #closed = false;

  constructor(pool: pg.Pool, schema: string, name: string) {
    this.#pool = pool;
    this.#schema = schema;
    this.#runs = `${quoteIdent(schema)}.runs`;
    this.#name = name;
  }

  async #guard<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new RepriseError('REPRISE_CATALOG', `catalog ${this.#name}: ${operation} after close`);
    try {
      return await work();
    } catch (err) {
      throw wrap(err, this.#name, operation);
    }
  }

  async #insert(row: RunRow): Promise<void> {
    await this.#pool.query(`INSERT INTO ${this.#runs} (${INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, $13, $14)`, [
      row.id,
      row.kind,
      row.subject,
      row.status,
      row.startedAt,
      row.finishedAt,
      row.host,
      row.actor,
      row.figures,
      row.errorCode,
      row.errorMessage,
      row.pid,
      row.processNamespace,
      row.processStartedAt,
    ]);
  }

  async startRun(run: StartRun): Promise<string> {
    return this.#guard('startRun', async () => {
      const row = startRow(run);
      await this.#insert(row);
      return row.id;
    });
  }

  async record(run: StartRun & FinishRun): Promise<string> {
    return this.#guard('record', async () => {
      const row = recordRow(run);
      await this.#insert(row);
      return row.id;
    });
  }

  async finishRun(id: string, end: FinishRun): Promise<void> {
    await this.#guard('finishRun', async () => {
      if (!isRunId(id)) throw new RepriseError('REPRISE_CATALOG', `catalog ${this.#name}: no run with id ${id}`);
      const values = finishValues(end);
      // One statement: the merge (||, shallow, end wins) and the first-finish-wins test are atomic.
      // A settled orphan is an inference, so the run's own outcome replaces it.
      const updated = await this.#pool.query(
        `UPDATE ${this.#runs} SET status = $2, finished_at = $3, figures = figures || $4::jsonb, error_code = $5, error_message = $6
         WHERE id = $1 AND (status = 'running' OR error_code IS NOT DISTINCT FROM $7)`,
        [id, values.status, values.finishedAt, values.figures, values.errorCode, values.errorMessage, PROCESS_LOST],
      );
      if (updated.rowCount !== 0) return;
      const exists = await this.#pool.query(`SELECT 1 FROM ${this.#runs} WHERE id = $1`, [id]);
      if (exists.rowCount === 0) throw new RepriseError('REPRISE_CATALOG', `catalog ${this.#name}: no run with id ${id}`);
    });
  }

  async settleOrphans(ended?: (process: ProcessIdentity) => boolean): Promise<number> {
    return this.#guard('settleOrphans', async () => {
      const running = await this.#pool.query<RunningRow>(`SELECT ${RUNNING_COLUMNS} FROM ${this.#runs} WHERE status = 'running' AND host = $1`, [hostname()]);
      const orphans = orphansAmong(running.rows, ended);
      const noticedAt = new Date();
      let settled = 0;
      for (const run of orphans) {
        const values = lostProcessValues(run, noticedAt);
        const updated = await this.#pool.query(
          `UPDATE ${this.#runs} SET status = $2, error_code = $3, error_message = $4 WHERE id = $1 AND status = 'running'`,
          [run.id, values.status, values.errorCode, values.errorMessage],
        );
        settled += updated.rowCount ?? 0;
      }
      return settled;
    });
  }

  async listRuns(query?: RunQuery): Promise<RunRecord[]> {
    return this.#guard('listRuns', async () => {
      const q = normalQuery(query);
      if (matchesNothing(q)) return [];
      const where: string[] = [];
      const params: unknown[] = [];
      const param = (value: unknown): string => {
        params.push(value);
        return `$${params.length}`;
      };
      // A single value as plain equality, so the planner can walk the index in order.
      const anyOf = (column: string, values: string[]): string =>
        values.length === 1 ? `${column} = ${param(values[0])}` : `${column} = ANY(${param(values)}::text[])`;
      if (q.kinds) where.push(anyOf('kind', q.kinds));
      if (q.statuses) where.push(anyOf('status', q.statuses));
      if (q.subject !== undefined) where.push(`subject = ${param(q.subject)}`);
      if (q.since) where.push(`started_at >= ${param(q.since)}`);
      if (q.until) where.push(`started_at < ${param(q.until)}`);
      const sql = `SELECT ${RECORD_COLUMNS} FROM ${this.#runs} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY started_at DESC, seq DESC LIMIT ${param(q.limit)}`;
      const result = await this.#pool.query<StoredRun>(sql, params);
      return result.rows.map(toRecord);
    });
  }

  async lastRun(query: RunQuery): Promise<RunRecord | undefined> {
    const [newest] = await this.listRuns({ ...query, limit: 1 });
    return newest;
  }

  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
    const key = `reprise.catalog.lock:${this.#schema}:${name}`;
    // A dedicated session: a session-level advisory lock lives exactly as long as this client's
    // connection, so a crashed holder frees it with its connection.
    const client = await this.#guard('withLock', () => this.#pool.connect());
    // A checked-out client has no pool listener: without this, a connection killed while `fn`
    // runs (server restart, pg_terminate_backend) would be an uncaught exception.
    const onError = (): void => undefined;
    client.on('error', onError);
    const release = (destroy?: boolean): void => {
      client.off('error', onError);
      client.release(destroy);
    };
    let locked: boolean;
    try {
      const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [key]);
      locked = result.rows[0]?.locked === true;
    } catch (err) {
      release(true);
      throw wrap(err, this.#name, 'withLock');
    }
    if (!locked) {
      release();
      return undefined;
    }
    try {
      return await fn();
    } finally {
      try {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
        release();
      } catch {
        // The session is gone or broken: dropping the connection frees the lock all the same.
        release(true);
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}

function toRecord(row: StoredRun): RunRecord {
  return {
    id: row.id,
    kind: row.kind as RunKind,
    subject: row.subject,
    status: row.status as RunStatus,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    host: row.host,
    actor: row.actor,
    figures: parseFigures(row.figures),
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
  };
}
