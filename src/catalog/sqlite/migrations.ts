import type { Migration } from '../migration.js';

/**
 * The SQLite catalog's schema, one entry per released change. Append only: never edit a released
 * migration, add a new one. Versions match the PostgreSQL list so both report the same level.
 * Times are integer milliseconds since the epoch (exact for JS Dates, sortable).
 */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'runs',
    statements: [
      `CREATE TABLE runs (
        id TEXT PRIMARY KEY NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT,
        status TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        host TEXT NOT NULL,
        actor TEXT,
        figures TEXT NOT NULL DEFAULT '{}',
        error_code TEXT,
        error_message TEXT
      )`,
      'CREATE INDEX runs_kind_subject_started ON runs (kind, subject, started_at)',
      'CREATE INDEX runs_started ON runs (started_at)',
    ],
  },
  {
    version: 2,
    name: 'locks',
    statements: [
      `CREATE TABLE locks (
        name TEXT PRIMARY KEY NOT NULL,
        owner TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        acquired_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      )`,
    ],
  },
  {
    // Who records a run, so a later run on this host can settle those whose process died.
    version: 3,
    name: 'run_process',
    statements: [
      'ALTER TABLE runs ADD COLUMN pid INTEGER',
      'ALTER TABLE runs ADD COLUMN process_namespace TEXT',
      'ALTER TABLE runs ADD COLUMN process_started_at INTEGER',
      "CREATE INDEX runs_running_host ON runs (host) WHERE status = 'running'",
    ],
  },
];
