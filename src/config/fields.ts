import { z } from 'zod';
import { parseDuration, parsePercent, parseSize } from '../core/units.js';

/** Zod field types shared by every plugin's schema: values stay human-readable in YAML, numbers in code. */

/** `30m`, `1h` → milliseconds. */
export const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration such as 30s, 5m, 1h or 7d, got "${text}"` });
    return z.NEVER;
  }
  return ms;
});

/** `500MiB` or a number of bytes → bytes. */
export const size = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const bytes = parseSize(value);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a size such as 512KiB, 500MiB or 50GiB, got "${value}"` });
    return z.NEVER;
  }
  return bytes;
});

/** `80%` → 80. */
export const percent = z.union([z.number().min(0).max(100), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const pct = parsePercent(value);
  if (pct === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a percentage such as 80%, got "${value}"` });
    return z.NEVER;
  }
  return pct;
});

/** A five- or six-field cron expression (validated by croner when the scheduler loads it). */
export const cron = z
  .string()
  .regex(/^\s*(\S+\s+){4,5}\S+\s*$/, 'expected a cron expression such as "0 * * * *" (minute hour day month weekday)');

export const url = z.string().min(1, 'expected a URL');

export const objectives = z.strictObject({ rpo: duration.optional(), rto: duration.optional() });

export const retention = z.strictObject({
  last: z.number().int().nonnegative().optional(),
  hourly: z.number().int().nonnegative().optional(),
  daily: z.number().int().nonnegative().optional(),
  weekly: z.number().int().nonnegative().optional(),
  monthly: z.number().int().nonnegative().optional(),
  yearly: z.number().int().nonnegative().optional(),
  within: duration.optional(),
});

export type Retention = z.output<typeof retention>;
export type Objectives = z.output<typeof objectives>;
