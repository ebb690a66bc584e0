import { describe, expect, it } from 'vitest';
import { parsePgUrl } from './conn.js';
import { pgDumpArgs } from './dump.js';
import type { DumpPlan } from './inspect.js';
import { postgresSourceSchema } from './schema.js';

const config = postgresSourceSchema.parse({
  type: 'postgres',
  url: 'postgres://app:secret@db:5432/app',
  include_tables: ['public.orders', 'sales.*'],
  exclude_tables: ['public.audit'],
  lock_wait_timeout: '30s',
});
const plan = { conn: parsePgUrl(config.url), jobs: 3 } as DumpPlan;
const db = { name: 'café', encoding: 'UTF8', collate: 'C', ctype: 'C', sizeBytes: 1, extensions: [] };

describe('pg_dump arguments', () => {
  it('directory format, uncompressed, parallel, filters, lock timeout, and no password on the command line', () => {
    const args = pgDumpArgs(config, plan, db, '/tmp/x/db-0');
    expect(args).toEqual([
      '--format=directory',
      '-Z0',
      '--jobs=3',
      '--file=/tmp/x/db-0',
      '--no-password',
      '--table=public.orders',
      '--table=sales.*',
      '--exclude-table=public.audit',
      '--lock-wait-timeout=30000ms',
      '--dbname=postgres://app@db:5432/caf%C3%A9',
    ]);
    expect(args.join(' ')).not.toContain('secret');
  });
});
