import { z } from 'zod';
import { duration } from '../../config/fields.js';
import { sourceCommon } from '../common-schema.js';

export const postgresSourceSchema = z.strictObject({
  type: z.literal('postgres'),
  url: z.string().min(1),
  password: z.string().optional(),
  /** Databases of the same server to back up in one run; default: the one in `url`. */
  databases: z.union([z.literal('all'), z.array(z.string()).min(1)]).optional(),
  include_tables: z.array(z.string()).optional(),
  exclude_tables: z.array(z.string()).optional(),
  /** Parallel pg_dump / pg_restore jobs; default: the number of cores. */
  jobs: z.number().int().positive().optional(),
  /** Also dump roles and other globals when the user may read them. */
  globals: z.boolean().default(true),
  /**
   * On restore, first apply the snapshot's globals.sql (roles, memberships, tablespaces) to the
   * target server with psql, so that owners and grants are kept on a new server. Existing roles
   * are altered to match the snapshot (attributes, and passwords when they were saved).
   */
  restore_globals: z.boolean().optional(),
  /** Folder holding pg_dump, pg_restore, pg_dumpall and psql (e.g. /usr/lib/postgresql/16/bin); default: PATH. */
  bin_dir: z.string().min(1).optional(),
  /** Give up (instead of waiting) when a table lock is not granted within this time (`--lock-wait-timeout`). */
  lock_wait_timeout: duration.optional(),
  ...sourceCommon,
});
export type PostgresSourceConfig = z.output<typeof postgresSourceSchema>;
