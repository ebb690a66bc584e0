import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRepriseError, type RepriseError } from '../../../../src/core/errors.js';
import { createPostgresSource } from '../../../../src/sources/postgres/index.js';
import { postgresSourceSchema } from '../../../../src/sources/postgres/schema.js';
import type { RestorePart, Source } from '../../../../src/sources/source.js';
import { createDb, dbUrl, dropDb, plainDump, randomName, sql } from './fixture.js';

const signal = new AbortController().signal;
const db = randomName('reprise_pg_fail');
let scratch = '';
const originalTmp = process.env['TMPDIR'];

function pgSource(config: Record<string, unknown>): Source {
  return createPostgresSource('db', postgresSourceSchema.parse({ type: 'postgres', jobs: 2, ...config }));
}

/** Runs inspect() and a whole dump(); returns the error and how many parts came out first. */
async function failing(src: Source): Promise<{ inspect: RepriseError; dump: RepriseError; parts: number }> {
  const inspect = (await src.inspect(signal).catch((e: unknown) => e)) as RepriseError;
  let parts = 0;
  const dump = (await (async () => {
    for await (const part of src.dump(signal)) {
      parts += 1;
      for await (const _ of part.open?.() ?? []) void _;
    }
  })().catch((e: unknown) => e)) as RepriseError;
  return { inspect, dump, parts };
}

async function tmpLeftovers(): Promise<string[]> {
  return (await readdir(join(scratch, 'tmp'))).filter((name) => name.startsWith('reprise-pg'));
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'reprise-pg-test-'));
  await import('node:fs/promises').then((fs) => fs.mkdir(join(scratch, 'tmp')));
  // The source writes its dump under os.tmpdir(): point it here to see what is left behind.
  process.env['TMPDIR'] = join(scratch, 'tmp');
  await createDb(db);
  await sql(db, "CREATE TABLE locked (id int PRIMARY KEY, v text); INSERT INTO locked SELECT g, md5(g::text) FROM generate_series(1, 1000) g;");
});

afterAll(async () => {
  if (originalTmp === undefined) delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = originalTmp;
  await dropDb(db);
  await rm(scratch, { recursive: true, force: true });
});

describe('postgres source: failures are clear errors with hints, before any part', () => {
  it('a role the server does not know → REPRISE_SOURCE_AUTH', async () => {
    const { inspect, dump, parts } = await failing(pgSource({ url: dbUrl(db, randomName('nobody')) }));
    expect(inspect.code).toBe('REPRISE_SOURCE_AUTH');
    expect(inspect.hint).toMatch(/role exists/);
    expect(dump.code).toBe('REPRISE_SOURCE_AUTH');
    expect(parts).toBe(0);
  });

  it('a server that is down → REPRISE_SOURCE_UNREADABLE naming host and port', async () => {
    const { inspect, dump, parts } = await failing(pgSource({ url: `postgres://postgres:s3cret@127.0.0.1:1/${db}` }));
    expect(inspect.code).toBe('REPRISE_SOURCE_UNREADABLE');
    expect(inspect.hint).toContain('pg_isready -h 127.0.0.1 -p 1');
    expect(inspect.message).not.toContain('s3cret');
    expect(dump.code).toBe('REPRISE_SOURCE_UNREADABLE');
    expect(parts).toBe(0);
  });

  it('a missing database → REPRISE_SOURCE_NOT_FOUND, in the url or under databases:', async () => {
    const missing = randomName('reprise_pg_missing');
    const { inspect, dump, parts } = await failing(pgSource({ url: dbUrl(missing) }));
    expect(inspect.code).toBe('REPRISE_SOURCE_NOT_FOUND');
    expect(inspect.hint).toMatch(/psql -l/);
    expect(dump.code).toBe('REPRISE_SOURCE_NOT_FOUND');
    expect(parts).toBe(0);
    const listed = await failing(pgSource({ url: dbUrl('postgres'), databases: [db, missing] }));
    expect(listed.inspect.code).toBe('REPRISE_SOURCE_NOT_FOUND');
    expect(listed.inspect.message).toContain(missing);
    expect(listed.parts).toBe(0);
  });

  it('no pg_dump on PATH → REPRISE_TOOL_MISSING naming postgresql-client', async () => {
    const empty = await mkdtemp(join(scratch, 'bin-'));
    const path = process.env['PATH'];
    process.env['PATH'] = empty;
    try {
      const { inspect, dump, parts } = await failing(pgSource({ url: dbUrl(db) }));
      expect(inspect.code).toBe('REPRISE_TOOL_MISSING');
      expect(inspect.hint).toContain('postgresql-client');
      expect(dump.code).toBe('REPRISE_TOOL_MISSING');
      expect(parts).toBe(0);
    } finally {
      process.env['PATH'] = path;
    }
  });

  it('a pg_dump older than the server → REPRISE_TOOL_TOO_OLD naming postgresql-client-<major>', async () => {
    const fake = await mkdtemp(join(scratch, 'old-'));
    // A stand-in for an old client: it only answers --version.
    await writeFile(join(fake, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 9.6.24"\n');
    await chmod(join(fake, 'pg_dump'), 0o755);
    const [server] = await sql<{ v: string }>('postgres', "SELECT current_setting('server_version_num') AS v");
    const major = Math.floor(Number(server?.v) / 10_000);
    const path = process.env['PATH'];
    process.env['PATH'] = `${fake}:${path}`;
    try {
      const { inspect, dump, parts } = await failing(pgSource({ url: dbUrl(db) }));
      expect(inspect.code).toBe('REPRISE_TOOL_TOO_OLD');
      expect(inspect.message).toContain('9.6.24');
      expect(inspect.hint).toContain(`postgresql-client-${major}`);
      expect(dump.code).toBe('REPRISE_TOOL_TOO_OLD');
      expect(parts).toBe(0);
    } finally {
      process.env['PATH'] = path;
    }
    const viaBinDir = await failing(pgSource({ url: dbUrl(db), bin_dir: fake }));
    expect(viaBinDir.inspect.code).toBe('REPRISE_TOOL_TOO_OLD');
  });

  it('pg_dump failing mid-way (a lock not granted) → REPRISE_TOOL_FAILED with its stderr, no part, no temp files', async () => {
    const before = await plainDump(db);
    const holder = new pg.Client({ connectionString: dbUrl(db) });
    await holder.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');
      const { dump, parts } = await failing(pgSource({ url: `postgres://postgres:hunter2@127.0.0.1:5432/${db}`, lock_wait_timeout: '300ms' }));
      expect(dump.code).toBe('REPRISE_TOOL_FAILED');
      expect(dump.message).toMatch(/pg_dump exited with code 1.*LOCK TABLE public\.locked/s);
      expect(dump.message).not.toContain('hunter2');
      expect(parts).toBe(0);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect(await tmpLeftovers()).toEqual([]);
    expect((await plainDump(db)).sha256).toBe(before.sha256);
  });

  it('abort during pg_dump kills it and its workers and removes the temp folder', async () => {
    const holder = new pg.Client({ connectionString: dbUrl(db) });
    await holder.connect();
    const controller = new AbortController();
    try {
      await holder.query('BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');
      const iteration = (async () => {
        for await (const part of pgSource({ url: dbUrl(db) }).dump(controller.signal)) void part;
      })().catch((e: unknown) => e);
      const dumpers = async (): Promise<number> =>
        Number((await sql<{ n: string }>('postgres', "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pg_dump'", [db]))[0]?.n);
      for (let i = 0; i < 100 && (await dumpers()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await dumpers()).toBeGreaterThan(0);
      expect(await tmpLeftovers()).not.toEqual([]);
      controller.abort();
      const err = await iteration;
      expect(isRepriseError(err, 'REPRISE_ABORTED')).toBe(true);
      for (let i = 0; i < 40 && (await dumpers()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await dumpers()).toBe(0);
      expect(await tmpLeftovers()).toEqual([]);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });

  it('pg_dump dying while a table is stored as it is written → REPRISE_TOOL_FAILED before the dump can end', async () => {
    const big = randomName('reprise_pg_fail_big');
    await createDb(big);
    try {
      // ~100 MB: pg_dump is still writing the table when its first bytes are read.
      await sql(big, 'CREATE UNLOGGED TABLE big (id int, payload text); INSERT INTO big SELECT g, repeat(md5(g::text), 5) FROM generate_series(1, 600000) g;');
      let bytes = 0;
      let partError: unknown;
      const err = await (async () => {
        for await (const part of pgSource({ url: dbUrl(big), globals: false }).dump(signal)) {
          if (!/\/\d+\.dat$/.test(part.name)) continue;
          try {
            for await (const chunk of part.open?.() ?? []) {
              if (bytes === 0) await sql('postgres', "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pg_dump'", [big]);
              bytes += (chunk as Uint8Array).length;
            }
          } catch (e) {
            partError = e;
            throw e;
          }
        }
      })().catch((e: unknown) => e);
      // The dump fails, from the part being read, or at the latest before the iteration ends (pg_dump
      // writes the COPY terminator before it checks the COPY's outcome): nothing can commit a short table.
      expect(isRepriseError(err, 'REPRISE_TOOL_FAILED')).toBe(true);
      if (partError !== undefined) expect(partError).toBe(err);
      expect(bytes).toBeGreaterThan(0);
      expect(bytes).toBeLessThan(90 * 2 ** 20);
      expect(await tmpLeftovers()).toEqual([]);
    } finally {
      await dropDb(big);
    }
  });

  it('a pg_restore error → REPRISE_TOOL_FAILED, and nothing is left under the target name', async () => {
    const src = pgSource({ url: dbUrl(db) });
    const info = await src.inspect(signal);
    const parts: RestorePart[] = [];
    for await (const part of src.dump(signal)) {
      const chunks: Buffer[] = [];
      for await (const chunk of part.open?.() ?? []) chunks.push(Buffer.from(chunk as Uint8Array));
      let data = Buffer.concat(chunks);
      // Damage the table's data so COPY fails half-way through the restore.
      if (/\/\d+\.dat$/.test(part.name)) data = Buffer.from(data.toString().replace(/^500\t/m, 'not-a-number\t'));
      parts.push({ name: part.name, type: 'file', content: () => [data] as unknown as AsyncIterable<Uint8Array> });
    }
    const target = randomName('reprise_pg_broken');
    async function* feed(): AsyncGenerator<RestorePart> {
      yield* parts;
    }
    const err = (await src.restore(feed(), { target: dbUrl(target), force: false, info, signal }).catch((e: unknown) => e)) as RepriseError;
    expect(err.code).toBe('REPRISE_TOOL_FAILED');
    expect(err.message).toMatch(/pg_restore exited with code 1.*invalid input syntax for type integer/s);
    const left = await sql<{ datname: string }>('postgres', 'SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2', [target, `${target}_restoring_%`]);
    expect(left).toEqual([]);
    expect(await tmpLeftovers()).toEqual([]);
  });

  it('a target server without an extension the snapshot uses → REPRISE_TARGET_INCOMPATIBLE before any part is read', async () => {
    const src = pgSource({ url: dbUrl(db) });
    const info = await src.inspect(signal);
    const databases = (info.facts['databases'] as { extensions: { name: string; version: string }[] }[]).map((d) => ({
      ...d,
      extensions: [...d.extensions, { name: 'reprise_no_such_extension', version: '1.0' }],
    }));
    let read = 0;
    async function* parts(): AsyncGenerator<RestorePart> {
      read += 1;
      yield { name: 'x/toc.dat', type: 'file', content: () => [] as unknown as AsyncIterable<Uint8Array> };
    }
    const target = randomName('reprise_pg_noext');
    const err = (await src
      .restore(parts(), { target: dbUrl(target), force: false, info: { ...info, facts: { ...info.facts, databases } }, signal })
      .catch((e: unknown) => e)) as RepriseError;
    expect(err.code).toBe('REPRISE_TARGET_INCOMPATIBLE');
    expect(err.message).toContain('reprise_no_such_extension');
    expect(read).toBe(0);
    expect(await sql('postgres', 'SELECT 1 FROM pg_database WHERE datname = $1', [target])).toEqual([]);
  });

  it('abort during pg_restore kills it and drops the half-restored database', async () => {
    // A CHECK that sleeps per row makes pg_restore's COPY take seconds, whatever the machine's load.
    const slow = randomName('reprise_pg_slow');
    let target = '';
    await createDb(slow);
    try {
      await sql(slow, `CREATE FUNCTION slow_ok(int) RETURNS boolean LANGUAGE sql AS 'SELECT true';
        CREATE TABLE t (id int CHECK (slow_ok(id)));
        INSERT INTO t SELECT generate_series(1, 1000);
        CREATE OR REPLACE FUNCTION slow_ok(int) RETURNS boolean LANGUAGE sql AS 'SELECT pg_sleep(0.01) IS NOT NULL';`);
      const src = pgSource({ url: dbUrl(slow) });
      const info = await src.inspect(signal);
      const parts: RestorePart[] = [];
      for await (const part of src.dump(signal)) {
        const chunks: Buffer[] = [];
        for await (const chunk of part.open?.() ?? []) chunks.push(Buffer.from(chunk as Uint8Array));
        const data = Buffer.concat(chunks);
        parts.push({ name: part.name, type: 'file', content: () => [data] as unknown as AsyncIterable<Uint8Array> });
      }
      async function* feed(): AsyncGenerator<RestorePart> {
        yield* parts;
      }
      target = randomName('reprise_pg_aborted');
      const controller = new AbortController();
      const restoring = src.restore(feed(), { target: dbUrl(target), force: false, info, signal: controller.signal }).catch((e: unknown) => e);
      const copying = async (): Promise<number> =>
        (await sql('postgres', "SELECT 1 FROM pg_stat_activity WHERE datname LIKE $1 AND application_name = 'pg_restore' AND query LIKE 'COPY%'", [`${target}_restoring_%`])).length;
      for (let i = 0; i < 400 && (await copying()) === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(await copying()).toBeGreaterThan(0);
      controller.abort();
      expect(isRepriseError(await restoring, 'REPRISE_ABORTED')).toBe(true);
      const left = await sql('postgres', 'SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2', [target, `${target}_restoring_%`]);
      expect(left).toEqual([]);
      expect(await tmpLeftovers()).toEqual([]);
    } finally {
      await dropDb(slow);
      if (target !== '') await dropDb(target);
    }
  });

  it('a pg_restore older than the pg_dump that wrote the snapshot → REPRISE_TOOL_TOO_OLD before any part is read', async () => {
    const fake = await mkdtemp(join(scratch, 'old-restore-'));
    await writeFile(join(fake, 'pg_restore'), '#!/bin/sh\necho "pg_restore (PostgreSQL) 11.22"\n');
    await chmod(join(fake, 'pg_restore'), 0o755);
    const info = await pgSource({ url: dbUrl(db) }).inspect(signal);
    let read = 0;
    async function* parts(): AsyncGenerator<RestorePart> {
      read += 1;
      yield { name: 'x/toc.dat', type: 'file', content: () => [] as unknown as AsyncIterable<Uint8Array> };
    }
    const err = (await pgSource({ url: dbUrl(db), bin_dir: fake })
      .restore(parts(), { target: dbUrl(randomName('reprise_pg_never')), force: false, info, signal })
      .catch((e: unknown) => e)) as RepriseError;
    expect(err.code).toBe('REPRISE_TOOL_TOO_OLD');
    expect(err.hint).toMatch(/postgresql-client-\d+/);
    expect(read).toBe(0);
  });

  it('an unreachable restore target → REPRISE_TARGET_UNREACHABLE', async () => {
    const src = pgSource({ url: dbUrl(db) });
    const err = await src.probeTarget('postgres://postgres@127.0.0.1:1/x', signal).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_TARGET_UNREACHABLE')).toBe(true);
  });
});
