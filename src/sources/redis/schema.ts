import { z } from 'zod';
import { sourceCommon } from '../common-schema.js';

export const redisSourceSchema = z.strictObject({
  type: z.literal('redis'),
  url: z.string().min(1),
  password: z.string().optional(),
  ...sourceCommon,
});
export type RedisSourceConfig = z.output<typeof redisSourceSchema>;
