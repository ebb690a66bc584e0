import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { RepriseError } from '../../core/errors.js';
import type { Catalog, FinishRun, RunKind, RunQuery, RunRecord, RunStatus, StartRun } from '../catalog.js';
import { parseFigures } from '../figures.js';
import { assertNotNewer } from '../migration.js';
import type { ProcessIdentity } from '../../core/process-identity.js';
import {
  finishValues,
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
import { tryTakeLock } from './lock.js';
import { SQLITE_MIGRATIONS } from './migrations.js';

export interface SqliteCatalogOptions {
  /**
   * How long a lock row stays valid without a refresh (default 60 s). The holder refreshes it
   * every third of that; a holder that died without releasing blocks others at most this long
   * (on the same host, not at all: a dead pid is detected).
   */
  lockTtlMs?: number;
  /** How long a write waits for another process's write (default 10 s). */
  busyTimeoutMs?: number;
}

interface StoredRun {
  id: string;
  kind: string;
  subject: string | null;
  status: string;
  started_at: number;
  finished_at: number | null;
  host: string;
  actor: string | null;
  figures: string;
  error_code: string | null;
  error_message: string | null;
}

/**
 * Opens (creating it and its parent folders if needed) the SQLite catalog at `file`, in WAL mode,
 * and applies pending migrations in one transaction. `:memory:` gives a private in-memory catalog.
 * Throws REPRISE_CATALOG when the file cannot be opened or is not a catalog, or when its schema is
 * newer than this build. Idempotent: reopening applies nothing twice.
 */
/**
 * Sets WAL mode. On a fresh file two processes opening at once can get SQLITE_BUSY here without
 * the busy handler being consulted, so the switch is retried with a short backoff until the timeout.
 */
async function switchToWal(db: Database, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() + delay > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
    }
  }
}

export async function openSqliteCatalog(file: string, options: SqliteCatalogOptions = {}): Promise<Catalog> {
  const inMemory = file === ':memory:';
  let db: Database | undefined;
  try {
    if (!inMemory) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    db = new BetterSqlite3(file);
    // busy_timeout first: switching to WAL needs a lock another process may hold.
    const busyTimeoutMs = Math.max(0, Math.floor(options.busyTimeoutMs ?? 10_000));
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    if (!inMemory) await switchToWal(db, busyTimeoutMs);
    db.pragma('synchronous = NORMAL');
    migrate(db, file);
  } catch (err) {
    db?.close();
    throw wrap(err, file, 'open');
  }
  return new SqliteCatalog(db, file, options.lockTtlMs ?? 60_000);
}

function migrate(db: Database, file: string): void {
  const run = db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY NOT NULL,
      name TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    )`);
    const applied = (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
    assertNotNewer(applied, SQLITE_MIGRATIONS, file);
    const insert = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const migration of SQLITE_MIGRATIONS) {
      if (migration.version <= applied) continue;
      for (const statement of migration.statements) db.exec(statement);
      insert.run(migration.version, migration.name, Date.now());
    }
  });
  // IMMEDIATE: two processes opening a fresh file at once must not both see version 0.
  run.immediate();
}

function wrap(err: unknown, file: string, operation: string): RepriseError {
  if (err instanceof RepriseError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RepriseError('REPRISE_CATALOG', `catalog ${file}: ${operation} failed: ${message}`, { cause: err });
}

class SqliteCatalog implements Catalog {
  readonly #db: Database;
  readonly #file: string;
  readonly #lockTtlMs: number;

  constructor(db: Database, file: string, lockTtlMs: number) {
    this.#db = db;
    this.#file = file;
    this.#lockTtlMs = lockTtlMs;
  }

  #guard<T>(operation: string, work: () => T): T {
    try {
      return work();
    } catch (err) {
      throw wrap(err, this.#file, operation);
    }
  }

  #insert(row: RunRow): void {
    this.#db
      .prepare(
        `INSERT INTO runs (id, kind, subject, status, started_at, finished_at, host, actor, figures, error_code, error_message,
           pid, process_namespace, process_started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        row.id,
        row.kind,
        row.subject,
        row.status,
        row.startedAt.getTime(),
        row.finishedAt?.getTime() ?? null,
        row.host,
        row.actor,
        row.figures,
        row.errorCode,
        row.errorMessage,
        row.pid,
        row.processNamespace,
        row.processStartedAt?.getTime() ?? null,
      );
  }

  async startRun(run: StartRun): Promise<string> {
    return this.#guard('startRun', () => {
      const row = startRow(run);
      this.#insert(row);
      return row.id;
    });
  }

  async record(run: StartRun & FinishRun): Promise<string> {
    return this.#guard('record', () => {
      const row = recordRow(run);
      this.#insert(row);
      return row.id;
    });
  }

  async finishRun(id: string, end: FinishRun): Promise<void> {
    this.#guard('finishRun', () => {
      const values = finishValues(end);
      const finish = this.#db.transaction(() => {
        const current = this.#db.prepare('SELECT status, figures, error_code FROM runs WHERE id = ?').get(id) as
          | { status: string; figures: string; error_code: string | null }
          | undefined;
        if (!current) throw new RepriseError('REPRISE_CATALOG', `catalog ${this.#file}: no run with id ${id}`);
        // First finish wins: a repeated call (a retry after a crash) must not rewrite history.
        // A settled orphan is an inference, so the run's own outcome replaces it.
        if (current.status !== 'running' && current.error_code !== PROCESS_LOST) return;
        const figures = JSON.stringify({ ...parseFigures(current.figures), ...parseFigures(values.figures) });
        this.#db
          .prepare('UPDATE runs SET status = ?, finished_at = ?, figures = ?, error_code = ?, error_message = ? WHERE id = ?')
          .run(values.status, values.finishedAt.getTime(), figures, values.errorCode, values.errorMessage, id);
      });
      finish.immediate();
    });
  }

  async settleOrphans(ended?: (process: ProcessIdentity) => boolean): Promise<number> {
    return this.#guard('settleOrphans', () => {
      const running = this.#db.prepare(`SELECT ${RUNNING_COLUMNS} FROM runs WHERE status = 'running' AND host = ?`).all(hostname()) as RunningRow[];
      const orphans = orphansAmong(running, ended);
      if (orphans.length === 0) return 0;
      const noticedAt = new Date();
      const update = this.#db.prepare(`UPDATE runs SET status = ?, error_code = ?, error_message = ? WHERE id = ? AND status = 'running'`);
      const settle = this.#db.transaction(() =>
        orphans.reduce((settled, run) => {
          const values = lostProcessValues(run, noticedAt);
          return settled + update.run(values.status, values.errorCode, values.errorMessage, run.id).changes;
        }, 0),
      );
      return settle.immediate();
    });
  }

  async listRuns(query?: RunQuery): Promise<RunRecord[]> {
    return this.#guard('listRuns', () => {
      const q = normalQuery(query);
      if (matchesNothing(q)) return [];
      const where: string[] = [];
      const params: unknown[] = [];
      if (q.kinds) {
        where.push(`kind IN (${q.kinds.map(() => '?').join(', ')})`);
        params.push(...q.kinds);
      }
      if (q.statuses) {
        where.push(`status IN (${q.statuses.map(() => '?').join(', ')})`);
        params.push(...q.statuses);
      }
      if (q.subject !== undefined) {
        where.push('subject = ?');
        params.push(q.subject);
      }
      if (q.since) {
        where.push('started_at >= ?');
        params.push(q.since.getTime());
      }
      if (q.until) {
        where.push('started_at < ?');
        params.push(q.until.getTime());
      }
      const sql = `SELECT * FROM runs ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY started_at DESC, rowid DESC LIMIT ?`;
      const rows = this.#db.prepare(sql).all(...params, q.limit) as StoredRun[];
      return rows.map(toRecord);
    });
  }

  async lastRun(query: RunQuery): Promise<RunRecord | undefined> {
    const [newest] = await this.listRuns({ ...query, limit: 1 });
    return newest;
  }

  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
    const held = this.#guard('withLock', () => tryTakeLock(this.#db, name, this.#lockTtlMs));
    if (!held) return undefined;
    try {
      return await fn();
    } finally {
      this.#guard('withLock release', () => held.release());
    }
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    try {
      // SQLite's advice for long-lived connections: refresh planner statistics when closing.
      this.#db.pragma('optimize');
    } catch {
      // Statistics are an optimisation; a busy database must not make close fail.
    }
    this.#db.close();
  }
}

function toRecord(row: StoredRun): RunRecord {
  return {
    id: row.id,
    kind: row.kind as RunKind,
    subject: row.subject,
    status: row.status as RunStatus,
    startedAt: new Date(row.started_at),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at),
    host: row.host,
    actor: row.actor,
    figures: parseFigures(row.figures),
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
  };
}
