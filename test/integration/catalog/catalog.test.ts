import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { build } from 'esbuild';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRepriseError } from '../../../src/core/errors.js';
import { openCatalog } from '../../../src/catalog/open.js';
import { openPostgresCatalog } from '../../../src/catalog/postgres/index.js';
import { openSqliteCatalog } from '../../../src/catalog/sqlite/index.js';
import { SQLITE_MIGRATIONS } from '../../../src/catalog/sqlite/migrations.js';
import { catalogConformance, type CatalogHarness } from './conformance.js';

const PG_URL = process.env.REPRISE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const here = path.dirname(fileURLToPath(import.meta.url));
const suffix = (): string => randomBytes(5).toString('hex');

function withRaw<T>(file: string, work: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(file);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

async function sqliteHarness(): Promise<CatalogHarness> {
  const dir = mkdtempSync(path.join(tmpdir(), 'reprise-catalog-'));
  const file = path.join(dir, 'nested', 'catalog.db');
  return {
    open: () => openSqliteCatalog(file),
    storedFigures: async (id) => withRaw(file, (db) => (db.prepare('SELECT figures FROM runs WHERE id = ?').get(id) as { figures: string }).figures),
    migrations: async () =>
      withRaw(file, (db) =>
        (db.prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version').all() as Array<{ version: number; applied_at: number }>).map(
          (r) => ({ version: r.version, appliedAt: String(r.applied_at) }),
        ),
      ),
    addFutureMigration: async (version) => {
      withRaw(file, (db) => db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)").run(version));
    },
    recordedBy: async (id, host, pid) => {
      withRaw(file, (db) => db.prepare('UPDATE runs SET host = ?, pid = ? WHERE id = ?').run(host, pid, id));
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function postgresHarness(): Promise<CatalogHarness> {
  const schema = `reprise_cat_${suffix()}`;
  const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
  return {
    open: () => openPostgresCatalog(PG_URL, { schema }),
    storedFigures: async (id) => (await admin.query(`SELECT figures::text AS f FROM ${schema}.runs WHERE id = $1`, [id])).rows[0].f as string,
    migrations: async () =>
      (await admin.query(`SELECT version, applied_at::text AS a FROM ${schema}.schema_migrations ORDER BY version`)).rows.map((r) => ({
        version: r.version as number,
        appliedAt: r.a as string,
      })),
    addFutureMigration: async (version) => {
      await admin.query(`INSERT INTO ${schema}.schema_migrations (version, name) VALUES ($1, 'future')`, [version]);
    },
    recordedBy: async (id, host, pid) => {
      await admin.query(`UPDATE ${schema}.runs SET host = $2, pid = $3 WHERE id = $1`, [id, host, pid]);
    },
    cleanup: async () => {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

describe('SQLite catalog', () => {
  catalogConformance(sqliteHarness);
});

describe('PostgreSQL catalog', () => {
  catalogConformance(postgresHarness);
});

describe('SQLite specifics', () => {
  let dir: string;
  let child: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'reprise-catalog-'));
    // Bundled next to node_modules so the child resolves better-sqlite3 like the product does.
    child = path.join(here, '../../../node_modules/.cache', `reprise-catalog-child-${suffix()}.mjs`);
    await build({ entryPoints: [path.join(here, 'sqlite-child.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: child, logLevel: 'silent' });
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(child, { force: true });
  });

  const run = (args: string[]): { done: Promise<number>; stdout: Promise<string>; kill: () => void } => {
    const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let resolveFirstLine!: (line: string) => void;
    const stdout = new Promise<string>((resolve) => (resolveFirstLine = resolve));
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolveFirstLine(out);
    });
    const done = new Promise<number>((resolve) => proc.on('close', (code, signal) => resolve(code ?? (signal ? -1 : 0))));
    return { done, stdout, kill: () => proc.kill('SIGKILL') };
  };

  it('a catalog of schema 2 upgrades in place: its rows stay, and its running runs are never settled (no process recorded)', async () => {
    const file = path.join(dir, `v2-${suffix()}.db`);
    withRaw(file, (db) => {
      db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
      for (const m of SQLITE_MIGRATIONS.filter((m) => m.version <= 2)) {
        for (const statement of m.statements) db.exec(statement);
        db.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
      }
      db.prepare(`INSERT INTO runs (id, kind, subject, status, started_at, host) VALUES (?, 'backup', 'old', 'running', 1, ?)`).run(
        '00000000-0000-4000-8000-000000000001',
        hostname(),
      );
    });
    const catalog = await openSqliteCatalog(file);
    expect(await catalog.settleOrphans(() => true)).toBe(0);
    expect(await catalog.listRuns()).toMatchObject([{ id: '00000000-0000-4000-8000-000000000001', subject: 'old', status: 'running' }]);
    await catalog.close();
    expect(withRaw(file, (db) => db.prepare('SELECT max(version) AS v FROM schema_migrations').get())).toEqual({ v: 3 });
  });

  it('creates parent folders and uses WAL', async () => {
    const file = path.join(dir, 'a', 'b', 'c.db');
    const catalog = await openSqliteCatalog(file);
    await catalog.startRun({ kind: 'init' });
    expect(withRaw(file, (db) => db.pragma('journal_mode', { simple: true }))).toBe('wal');
    await catalog.close();
  });

  it('two processes writing at once (on a fresh file) lose no row', async () => {
    const file = path.join(dir, `two-${suffix()}.db`);
    const go = `${file}.go`;
    const writers = [run([file, 'write', '150', 'p1', go]), run([file, 'write', '150', 'p2', go])];
    expect(await Promise.all(writers.map((w) => w.stdout))).toEqual(['ready\n', 'ready\n']);
    writeFileSync(go, '');
    expect(await Promise.all(writers.map((w) => w.done))).toEqual([0, 0]);
    const catalog = await openSqliteCatalog(file);
    for (const tag of ['p1', 'p2']) {
      const runs = await catalog.listRuns({ subject: tag, limit: 1000 });
      expect(runs).toHaveLength(150);
      expect(runs.every((r) => r.status === 'ok' && r.figures.done === true)).toBe(true);
      expect(new Set(runs.map((r) => r.figures.i)).size).toBe(150);
    }
    await catalog.close();
    expect(withRaw(file, (db) => db.prepare('SELECT count(*) AS n FROM schema_migrations').get())).toEqual({ n: SQLITE_MIGRATIONS.length });
  });

  it('a lock held by a live process is refused; once that process is killed it is taken at once', async () => {
    const file = path.join(dir, `lock-${suffix()}.db`);
    const catalog = await openSqliteCatalog(file);
    const holder = run([file, 'hold', 'job']);
    expect(await holder.stdout).toBe('locked\n');
    expect(await catalog.withLock('job', async () => 'ran')).toBeUndefined();
    holder.kill();
    await holder.done;
    expect(await catalog.withLock('job', async () => 'ran')).toBe('ran');
    await catalog.close();
  });

  it('an expired lock of another host is taken over; a live one is not', async () => {
    const file = path.join(dir, `expiry-${suffix()}.db`);
    const catalog = await openSqliteCatalog(file);
    const put = (expiresAt: number): void => {
      withRaw(file, (db) => db.prepare("INSERT OR REPLACE INTO locks VALUES ('job', 'someone', 'elsewhere.example', 1, 0, ?)").run(expiresAt));
    };
    put(Date.now() + 60_000);
    expect(await catalog.withLock('job', async () => 'ran')).toBeUndefined();
    put(Date.now() - 1);
    expect(await catalog.withLock('job', async () => 'ran')).toBe('ran');
    expect(withRaw(file, (db) => db.prepare('SELECT count(*) AS n FROM locks').get())).toEqual({ n: 0 });
    await catalog.close();
  });

  it('a held lock is refreshed, so a job longer than the TTL keeps it', async () => {
    const file = path.join(dir, `ttl-${suffix()}.db`);
    const a = await openSqliteCatalog(file, { lockTtlMs: 300 });
    const b = await openSqliteCatalog(file, { lockTtlMs: 300 });
    // Another host, so only the expiry can free it (pid liveness is checked on the same host only).
    const result = await a.withLock('long', async () => {
      withRaw(file, (db) => db.prepare("UPDATE locks SET host = 'elsewhere.example'").run());
      await new Promise((resolve) => setTimeout(resolve, 800));
      return b.withLock('long', async () => 'stolen');
    });
    expect(result).toBeUndefined();
    await a.close();
    await b.close();
  });

  it('a file that is not a catalog gives REPRISE_CATALOG naming it', async () => {
    const file = path.join(dir, `junk-${suffix()}.db`);
    writeFileSync(file, 'this is not a database, just some text that is long enough to fill a header page'.repeat(20));
    const err = await openSqliteCatalog(file).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_CATALOG')).toBe(true);
    expect((err as Error).message).toContain(file);
  });

  it('openCatalog resolves a relative path against baseDir', async () => {
    const catalog = await openCatalog('.reprise/catalog.db', dir);
    await catalog.record({ kind: 'init', status: 'ok' });
    await catalog.close();
    expect(existsSync(path.join(dir, '.reprise', 'catalog.db'))).toBe(true);
  });
});

describe('PostgreSQL specifics', () => {
  it('openCatalog opens a postgres:// url in the reprise schema of that database', async () => {
    const database = `reprise_cat_${suffix()}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    try {
      const url = new URL(PG_URL);
      url.pathname = `/${database}`;
      const catalog = await openCatalog(url.toString().replace(/^postgres:/, 'postgresql:'), '/nowhere');
      const id = await catalog.record({ kind: 'init', status: 'ok' });
      await catalog.close();
      const check = new pg.Client({ connectionString: url.toString() });
      await check.connect();
      const rows = (await check.query('SELECT id FROM reprise.runs')).rows;
      await check.end();
      expect(rows).toEqual([{ id }]);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('an unreachable server gives REPRISE_CATALOG naming the url with the password hidden', async () => {
    const err = await openCatalog('postgres://reprise:s3cr3t-pw@127.0.0.1:1/reprise', '/x').catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_CATALOG')).toBe(true);
    expect((err as Error).message).toContain('postgres://reprise:***@127.0.0.1:1/reprise');
    expect(JSON.stringify((err as { toJSON(): unknown }).toJSON())).not.toContain('s3cr3t-pw');
  });

  it('a missing database gives REPRISE_CATALOG', async () => {
    const url = new URL(PG_URL);
    url.pathname = `/reprise_missing_${suffix()}`;
    const err = await openPostgresCatalog(url.toString()).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_CATALOG')).toBe(true);
    expect((err as Error).message).toMatch(/does not exist/);
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    const err = await openPostgresCatalog(PG_URL, { schema: 'x"; DROP TABLE y; --' }).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_CATALOG')).toBe(true);
  });

  it('a lock is freed when its holder connection dies', async () => {
    const schema = `reprise_cat_${suffix()}`;
    const a = await openPostgresCatalog(PG_URL, { schema });
    const b = await openPostgresCatalog(PG_URL, { schema });
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const held = a.withLock('job', async () => {
        entered();
        // Kill our own session from outside, as a crashed agent's connection would drop.
        const killed = await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
             AND objid = (hashtext($1)::bigint & 4294967295)`,
          [`reprise.catalog.lock:${schema}:job`],
        );
        expect(killed.rowCount).toBe(1);
        return 'done';
      });
      await inside;
      expect(await held).toBe('done');
      expect(await b.withLock('job', async () => 'b ran')).toBe('b ran');
    } finally {
      await a.close();
      await b.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });
});
