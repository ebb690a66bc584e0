import { z } from 'zod';
import { checkSchema } from '../checks/schema.js';
import { notifierSchema } from '../notify/schema.js';
import { filesSourceSchema } from '../sources/files/schema.js';
import { mysqlSourceSchema } from '../sources/mysql/schema.js';
import { postgresSourceSchema } from '../sources/postgres/schema.js';
import { redisSourceSchema } from '../sources/redis/schema.js';
import { sqliteSourceSchema } from '../sources/sqlite/schema.js';
import { duration, objectives, retention } from './fields.js';

/** Where a repository lives: a local path or s3://bucket/prefix, with the S3 settings. */
export const storageLocationSchema = {
  url: z.string().min(1),
  password: z.string().optional(),
  endpoint: z.string().optional(),
  region: z.string().optional(),
  path_style: z.boolean().optional(),
  access_key_id: z.string().optional(),
  secret_access_key: z.string().optional(),
  session_token: z.string().optional(),
  /** Parallel uploads/downloads. */
  connections: z.number().int().positive().optional(),
};

export const repositorySchema = z.strictObject({
  ...storageLocationSchema,
  compression: z.enum(['auto', 'off', 'max']).default('auto'),
});

export const copySchema = z.strictObject({
  name: z.string().regex(/^[a-zA-Z0-9_.-]+$/, 'expected a name of letters, digits, - _ .'),
  ...storageLocationSchema,
});

export const sourceSchema = z.discriminatedUnion('type', [
  filesSourceSchema,
  postgresSourceSchema,
  mysqlSourceSchema,
  sqliteSourceSchema,
  redisSourceSchema,
]);
export type SourceConfig = z.output<typeof sourceSchema>;

export const killswitchSchema = z.strictObject({
  /** A file path, redis://… or postgres://… */
  store: z.string().min(1).default('.reprise/killswitch.json'),
  key: z.string().optional(),
  message: z.string().optional(),
  retry_after: duration.optional(),
  bypass_token: z.string().optional(),
  non_critical_features: z.array(z.string()).optional(),
  rate_limit: z.strictObject({ requests: z.number().int().positive(), per: duration }).optional(),
});

const runbookStep = z.union([
  z.strictObject({
    killswitch: z.union([
      z.literal('off'),
      z.literal(false),
      z.strictObject({
        mode: z.enum(['off', 'maintenance', 'degraded', 'read_only']),
        reason: z.string().optional(),
        for: duration.optional(),
      }),
    ]),
    name: z.string().optional(),
  }),
  z.strictObject({
    restore: z.strictObject({
      source: z.string(),
      snapshot: z.string().default('latest'),
      to: z.string().optional(),
      force: z.boolean().default(false),
    }),
    name: z.string().optional(),
  }),
  z.strictObject({
    wait_for: z.strictObject({ check: z.string(), timeout: duration.default(300_000) }),
    name: z.string().optional(),
  }),
  z.strictObject({ run: z.string().min(1), timeout: duration.optional(), name: z.string().optional() }),
  z.strictObject({ backup: z.strictObject({ source: z.string() }), name: z.string().optional() }),
  z.strictObject({ notify: z.string().min(1), name: z.string().optional() }),
  z.strictObject({ manual: z.string().min(1), name: z.string().optional() }),
]);

export const runbookSchema = z.strictObject({
  title: z.string().min(1),
  rto: duration.optional(),
  description: z.string().optional(),
  steps: z.array(runbookStep).min(1),
  post_incident: z.array(z.string()).optional(),
});

export const configSchema = z.strictObject({
  version: z.literal(1, 'expected version: 1'),
  project: z.string().min(1).default('reprise'),
  repository: repositorySchema,
  copies: z.array(copySchema).default([]),
  catalog: z.string().min(1).default('.reprise/catalog.db'),
  defaults: z
    .strictObject({ objectives: objectives.optional(), retention: retention.optional() })
    .default({}),
  sources: z.record(z.string().regex(/^[a-zA-Z0-9_.-]+$/, 'source names use letters, digits, - _ .'), sourceSchema).default({}),
  checks: z.record(z.string(), checkSchema).default({}),
  notify: z.array(notifierSchema).default([]),
  killswitch: killswitchSchema.optional(),
  runbooks: z.record(z.string(), runbookSchema).default({}),
  contacts: z
    .array(z.strictObject({ role: z.string(), name: z.string().optional(), email: z.string().optional(), phone: z.string().optional() }))
    .default([]),
  escalation: z.array(z.strictObject({ after: duration, notify: z.array(z.string()).min(1) })).default([]),
  daemon: z
    .strictObject({
      listen: z.string().default('127.0.0.1:7070'),
      token: z.string().optional(),
    })
    .optional(),
});

export type Config = z.output<typeof configSchema>;
export type RepositoryConfig = z.output<typeof repositorySchema>;
export type CopyConfig = z.output<typeof copySchema>;
