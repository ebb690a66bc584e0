import { z } from 'zod';
import { duration, percent, size } from '../config/fields.js';

const common = {
  /** How often the daemon evaluates the check. */
  every: duration.optional(),
  timeout: duration.optional(),
  /** Consecutive failures before an alert fires (alerts without noise). */
  failures_before_alert: z.number().int().positive().optional(),
};

/** Every check type `checks:` accepts, discriminated by `type`. */
export const checkSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('http'),
    url: z.string().min(1),
    method: z.string().default('GET'),
    expect_status: z.number().int().optional(),
    contains: z.string().optional(),
    max_latency: duration.optional(),
    ...common,
  }),
  z.strictObject({
    type: z.enum(['postgres', 'mysql', 'redis', 'sqlite']),
    url: z.string().min(1).optional(),
    path: z.string().optional(),
    tables: z.array(z.string()).optional(),
    max_size: size.optional(),
    max_latency: duration.optional(),
    ...common,
  }),
  z.strictObject({ type: z.literal('read_only'), url: z.string().min(1), ...common }),
  z.strictObject({
    type: z.literal('sql'),
    url: z.string().min(1),
    query: z.string().min(1),
    warn: z.number().optional(),
    crit: z.number().optional(),
    ...common,
  }),
  z.strictObject({ type: z.literal('disk'), path: z.string().default('/'), warn: percent.optional(), crit: percent.optional(), ...common }),
  z.strictObject({ type: z.literal('memory'), warn: percent.optional(), crit: percent.optional(), ...common }),
  z.strictObject({ type: z.literal('cpu'), warn: percent.optional(), crit: percent.optional(), ...common }),
  z.strictObject({
    type: z.literal('tls'),
    host: z.string().min(1),
    port: z.number().int().positive().default(443),
    warn: duration.optional(),
    crit: duration.optional(),
    ...common,
  }),
  z.strictObject({
    type: z.literal('backup_age'),
    source: z.string().min(1),
    warn: duration.optional(),
    crit: duration.optional(),
    ...common,
  }),
]);
export type CheckConfig = z.output<typeof checkSchema>;
