import { z } from 'zod';
import { sourceCommon } from '../common-schema.js';

export const sqliteSourceSchema = z.strictObject({
  type: z.literal('sqlite'),
  path: z.string().min(1),
  ...sourceCommon,
});
export type SqliteSourceConfig = z.output<typeof sqliteSourceSchema>;
