import { z } from 'zod';
import { sourceCommon } from '../common-schema.js';

export const redisSourceSchema = z.strictObject({
  type: z.literal('redis'),
  url: z.string().min(1),
  password: z.string().optional(),
  /**
   * `scan` (default): SCAN + DUMP per batch, works everywhere, atomic per batch only.
   * `rdb`: a point-in-time RDB over the replication protocol, converted to the same records
   * through a private redis-server (needs SYNC allowed and redis-server installed).
   */
  method: z.enum(['scan', 'rdb']).optional(),
  ...sourceCommon,
});
export type RedisSourceConfig = z.output<typeof redisSourceSchema>;
