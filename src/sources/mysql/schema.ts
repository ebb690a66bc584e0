import { z } from 'zod';
import { sourceCommon } from '../common-schema.js';

export const mysqlSourceSchema = z.strictObject({
  type: z.enum(['mysql', 'mariadb']),
  url: z.string().min(1),
  password: z.string().optional(),
  databases: z.union([z.literal('all'), z.array(z.string()).min(1)]).optional(),
  exclude_tables: z.array(z.string()).optional(),
  ...sourceCommon,
});
export type MysqlSourceConfig = z.output<typeof mysqlSourceSchema>;
