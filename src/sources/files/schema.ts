import { z } from 'zod';
import { sourceCommon } from '../common-schema.js';

export const filesSourceSchema = z.strictObject({
  type: z.literal('files'),
  path: z.string().min(1),
  exclude: z.array(z.string()).default([]),
  /** Do not descend into other filesystems (mount points) under `path`. */
  one_file_system: z.boolean().default(false),
  ...sourceCommon,
});
export type FilesSourceConfig = z.output<typeof filesSourceSchema>;
