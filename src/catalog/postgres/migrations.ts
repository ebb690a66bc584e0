import type { Migration } from '../migration.js';

/** Placeholder for the quoted schema name, replaced when the statements run. */
export const SCHEMA = '{schema}';

/**
 * The PostgreSQL catalog's schema, one entry per released change; versions match the SQLite list.
 * Append only: never edit a released migration, add a new one.
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'runs',
    statements: [
      `CREATE TABLE ${SCHEMA}.runs (
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        id UUID PRIMARY KEY,
        kind TEXT NOT NULL,
        subject TEXT,
        status TEXT NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ,
        host TEXT NOT NULL,
        actor TEXT,
        figures JSONB NOT NULL DEFAULT '{}'::jsonb,
        error_code TEXT,
        error_message TEXT
      )`,
      // seq ends each index so "newest first, ties by insertion" reads the index backwards, no sort.
      `CREATE INDEX runs_kind_subject_started ON ${SCHEMA}.runs (kind, subject, started_at, seq)`,
      `CREATE INDEX runs_started ON ${SCHEMA}.runs (started_at, seq)`,
    ],
  },
  {
    // SQLite needs a locks table; PostgreSQL uses advisory locks. Kept so versions stay aligned.
    version: 2,
    name: 'locks',
    statements: [],
  },
  {
    // Who records a run, so a later run on the same host can settle those whose process died.
    version: 3,
    name: 'run_process',
    statements: [
      `ALTER TABLE ${SCHEMA}.runs ADD COLUMN pid INTEGER, ADD COLUMN process_namespace TEXT, ADD COLUMN process_started_at TIMESTAMPTZ`,
      `CREATE INDEX runs_running_host ON ${SCHEMA}.runs (host) WHERE status = 'running'`,
    ],
  },
];
