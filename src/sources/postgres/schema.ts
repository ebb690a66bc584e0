import { z } from 'zod';
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
  ...sourceCommon,
});
export type PostgresSourceConfig = z.output<typeof postgresSourceSchema>;
