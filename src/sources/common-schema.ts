import { z } from 'zod';
import { cron, objectives, retention, size } from '../config/fields.js';

/** One drill assertion, as written under `drill.assert`. */
export const drillAssertion = z.union([
  z.strictObject({ tables: z.array(z.string()).min(1) }),
  z.strictObject({ min_rows: z.record(z.string(), z.number().int().nonnegative()) }),
  z.strictObject({ sql: z.string().min(1) }),
  z.strictObject({
    json_valid: z.strictObject({
      table: z.string(),
      column: z.string(),
      min_percent: z.number().min(0).max(100).default(100),
    }),
  }),
  z.strictObject({ files: z.array(z.string()).min(1) }),
  z.strictObject({ keys: z.array(z.string()).min(1) }),
  z.strictObject({ run: z.string().min(1) }),
]);

/** Fields every source accepts, whatever its type. */
export const sourceCommon = {
  schedule: cron.optional(),
  objectives: objectives.optional(),
  retention: retention.optional(),
  tags: z.array(z.string()).optional(),
  /** Average chunk size for content-defined chunking (power of two between 64KiB and 8MiB). */
  chunk_size: size.optional(),
  /** zstd level (1-19) for this source's data; by default what measured best for its kind. */
  compression_level: z.number().int().min(1).max(19).optional(),
  drill: z
    .strictObject({
      schedule: cron.optional(),
      target: z.string().optional(),
      assert: z.array(drillAssertion).default([]),
      keep_target: z.boolean().default(false),
    })
    .optional(),
};
