import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RepriseError } from '../../core/errors.js';
import { InflightWindow } from '../../core/inflight.js';
import type { RestoreOptions, RestorePart, RestoreResult } from '../source.js';
import { describeConn, toolEnv, withDatabase, type PgConn } from './conn.js';
import { quoteIdent, quoteLiteral, withClient } from './client.js';
import type { DatabaseFacts } from './inspect.js';
import { GLOBALS_PART, parsePartName, temporaryName } from './layout.js';
import { runTool } from './run-tool.js';
import type { PostgresSourceConfig } from './schema.js';
import { databaseStates, targetConn, targetMaintenance, targetNames } from './target.js';
import { locateTool, parseToolVersion, type PgTool } from './tools.js';

interface StagedDump {
  dir: string;
  /** Source database name → folder holding its dump files. */
  databases: Map<string, string>;
  /** Path of globals.sql when the snapshot has it. */
  globals: string | undefined;
  parts: number;
  bytes: number;
}

/** Writes the parts into `dir` (one folder per database), in the order they come. */
async function stageParts(parts: AsyncIterable<RestorePart>, dir: string, signal: AbortSignal): Promise<StagedDump> {
  const staged: StagedDump = { dir, databases: new Map(), globals: undefined, parts: 0, bytes: 0 };
  const writing = new InflightWindow(STAGED_FILES_IN_FLIGHT, Number.POSITIVE_INFINITY);
  try {
    await stageEach(parts, dir, staged, writing, signal);
    await writing.drain();
  } catch (err) {
    await writing.settle();
    throw err;
  }
  return staged;
}

/** Dump files written at once: enough to keep every worker thread busy. */
const STAGED_FILES_IN_FLIGHT = 4;

async function stageEach(parts: AsyncIterable<RestorePart>, dir: string, staged: StagedDump, writing: InflightWindow, signal: AbortSignal): Promise<void> {
  for await (const part of parts) {
    if (signal.aborted) throw new RepriseError('REPRISE_ABORTED', 'operation cancelled');
    const where = parsePartName(part.name);
    let path: string;
    if ('globals' in where) {
      path = staged.globals = join(dir, GLOBALS_PART);
    } else {
      let folder = staged.databases.get(where.database);
      if (folder === undefined) {
        folder = join(dir, `db-${staged.databases.size}`);
        await mkdir(folder, { mode: 0o700 });
        staged.databases.set(where.database, folder);
      }
      path = join(folder, where.file);
    }
    if (part.writeFile) {
      // Written by worker threads, a few files at once (the restore's main cost before pg_restore starts).
      await writing.add(
        part.writeFile({ path, mode: 0o600 }).then((n) => {
          staged.bytes += n;
        }),
        part.size ?? 0,
      );
      staged.parts += 1;
      continue;
    }
    const content = part.content?.();
    const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    let bytes = 0;
    const counted = Readable.from(
      (async function* () {
        if (content) {
          for await (const chunk of content) {
            bytes += chunk.length;
            yield chunk;
          }
        }
      })(),
    );
    await pipeline(counted, out, { signal });
    staged.parts += 1;
    staged.bytes += bytes;
  }
}

/** Roles that own objects in a dump, from `pg_restore -l` (the owner is the last field of each entry). */
async function dumpOwners(tool: PgTool, folder: string, env: Record<string, string>, signal: AbortSignal): Promise<Set<string>> {
  const stdout = await runTool(tool.path, ['-l', folder], { env, signal, password: undefined });
  const owners = new Set<string>();
  for (const line of stdout.split('\n')) {
    if (line.startsWith(';') || line.trim() === '') continue;
    const owner = line.trim().split(/\s+/).pop();
    if (owner !== undefined && owner !== '-') owners.add(owner);
  }
  return owners;
}

async function createDatabase(maintenance: PgConn, name: string, facts: DatabaseFacts | undefined, signal: AbortSignal): Promise<void> {
  await withClient(
    maintenance,
    signal,
    async (client) => {
      const encoding = facts ? ` ENCODING ${quoteLiteral(facts.encoding)}` : '';
      const locale = facts ? ` LC_COLLATE ${quoteLiteral(facts.collate)} LC_CTYPE ${quoteLiteral(facts.ctype)}` : '';
      try {
        await client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0${encoding}${locale}`);
      } catch (err) {
        // The source's locale may not be installed here; C goes with every encoding and keeps the data intact.
        if ((err as { code?: string }).code !== '22023' || !facts) throw err;
        await client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0${encoding} LC_COLLATE 'C' LC_CTYPE 'C'`);
      }
    },
    'target',
  );
}

/** Best effort, also after an abort: FORCE (PostgreSQL 13+) ends pg_restore sessions still closing. */
async function dropDatabase(maintenance: PgConn, name: string): Promise<void> {
  const signal = new AbortController().signal;
  await withClient(
    maintenance,
    signal,
    async (client) => {
      try {
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      } catch {
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
      }
    },
    'target',
  ).catch(() => undefined);
}

/** Refuses, before anything is written, a target server that lacks an extension the dump creates. */
async function assertExtensionsAvailable(maintenance: PgConn, facts: DatabaseFacts[], signal: AbortSignal): Promise<void> {
  const wanted = new Set(facts.flatMap((db) => (db.extensions ?? []).map((ext) => ext.name)));
  if (wanted.size === 0) return;
  const available = await withClient(
    maintenance,
    signal,
    async (client) => new Set((await client.query<{ name: string }>('SELECT name FROM pg_available_extensions')).rows.map((row) => row.name)),
    'target',
  );
  const missing = [...wanted].filter((name) => !available.has(name)).sort();
  if (missing.length > 0) {
    throw new RepriseError('REPRISE_TARGET_INCOMPATIBLE', `the target server has no extension ${missing.join(', ')} (the snapshot's databases use it)`, {
      hint: `Install the extension package on the target server (Debian: apt-cache search postgresql-<major>-<extension>), then restore again.`,
      details: { missingExtensions: missing },
    });
  }
}

function assertRestoreToolFits(tool: PgTool, dumpedBy: string | undefined): void {
  const dumped = dumpedBy === undefined ? undefined : parseToolVersion(`(PostgreSQL) ${dumpedBy}`);
  if (dumped === undefined || tool.major >= dumped.major) return;
  throw new RepriseError('REPRISE_TOOL_TOO_OLD', `pg_restore ${tool.version} cannot read a dump written by pg_dump ${dumpedBy}`, {
    hint: `Install postgresql-client-${Math.floor(dumped.major)} (Debian/Ubuntu) and set bin_dir, or put its pg_restore first on PATH.`,
  });
}

/**
 * Restores the parts with `pg_restore -j N --exit-on-error`. A missing database is created (recorded
 * encoding and locale, template0) under a temporary name and renamed once complete, so a failed
 * restore leaves nothing under the final name. An existing database with user objects is refused
 * with REPRISE_TARGET_NOT_EMPTY unless `force`, then restored with `--clean --if-exists`. When a
 * role owning objects is missing on the target, `--no-owner --no-privileges` (objects belong to the
 * restoring user). Throws REPRISE_TARGET_UNREACHABLE, REPRISE_TARGET_INCOMPATIBLE (missing extension),
 * REPRISE_TOOL_MISSING/TOO_OLD/FAILED, REPRISE_ABORTED.
 * Not idempotent (it writes); the target check happens before any part is read.
 */
export async function restorePostgres(config: PostgresSourceConfig, parts: AsyncIterable<RestorePart>, options: RestoreOptions): Promise<RestoreResult> {
  const { signal } = options;
  const conn = targetConn(options.target, config);
  const env = toolEnv(conn);
  const facts = (options.info.facts['databases'] as DatabaseFacts[] | undefined) ?? [];
  const pgRestore = await locateTool('pg_restore', { binDir: config.bin_dir, signal });
  assertRestoreToolFits(pgRestore, options.info.versions['pg_dump']);

  const check = async (dumped: string[]): Promise<Map<string, boolean>> => {
    const names = targetNames(conn, dumped);
    const states = await databaseStates(targetMaintenance(conn, dumped), [...names.values()], signal);
    const exists = new Map<string, boolean>();
    for (const [, target] of names) {
      const state = states.get(target);
      if (state?.exists && state.objects > 0 && !options.force) {
        throw new RepriseError('REPRISE_TARGET_NOT_EMPTY', `database "${target}" on ${describeConn(conn)} already holds ${state.objects} objects`, {
          hint: 'Restore into a new database (name it in the target URL), or pass --force (a safety snapshot of the target is taken first).',
        });
      }
      exists.set(target, state?.exists ?? false);
    }
    return exists;
  };
  // Refuse before reading a single part when the snapshot says what it holds.
  if (facts.length > 0) {
    await check(facts.map((db) => db.name));
    await assertExtensionsAvailable(targetMaintenance(conn, facts.map((db) => db.name)), facts, signal);
  }

  const dir = await mkdtemp(join(tmpdir(), 'reprise-pg-restore-'));
  try {
    await chmod(dir, 0o700);
    const staged = await stageParts(parts, dir, signal);
    const dumped = [...staged.databases.keys()];
    const exists = await check(dumped);
    const names = targetNames(conn, dumped);
    const maintenance = targetMaintenance(conn, dumped);
    const jobs = String(config.jobs ?? availableParallelism());
    if (config.restore_globals && staged.globals !== undefined) {
      const psql = await locateTool('psql', { binDir: config.bin_dir, signal });
      // Without ON_ERROR_STOP psql goes on past "role already exists": the roles that exist are altered, the others created.
      await runTool(psql.path, ['-X', '-q', '--no-password', '-f', staged.globals, `--dbname=${maintenance.url}`], { env, signal, password: conn.password });
    }
    const roles = await withClient(maintenance, signal, async (client) => new Set((await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname)), 'target');
    const notes: string[] = [];
    for (const [source, folder] of staged.databases) {
      const target = names.get(source) ?? source;
      const owners = await dumpOwners(pgRestore, folder, env, signal);
      const missing = [...owners].filter((owner) => !roles.has(owner));
      const args = ['--format=directory', `--jobs=${jobs}`, '--exit-on-error', '--no-password'];
      if (missing.length > 0) {
        args.push('--no-owner', '--no-privileges');
        notes.push(`${target}: owners not kept (roles missing on target: ${missing.join(', ')})`);
      }
      const isNew = !(exists.get(target) ?? false);
      if (!isNew) args.push('--clean', '--if-exists');
      const into = isNew ? temporaryName(target) : target;
      if (isNew) await createDatabase(maintenance, into, facts.find((db) => db.name === source), signal);
      try {
        await runTool(pgRestore.path, [...args, `--dbname=${withDatabase(conn, into).url}`, folder], { env, signal, password: conn.password });
        if (isNew) {
          await withClient(maintenance, signal, (client) => client.query(`ALTER DATABASE ${quoteIdent(into)} RENAME TO ${quoteIdent(target)}`), 'target');
        }
      } catch (err) {
        if (isNew) await dropDatabase(maintenance, into);
        throw err;
      }
    }
    const targets = [...names.values()];
    const location =
      targets.length === 1 && targets[0] !== undefined ? describeConn(withDatabase(conn, targets[0])) : `${describeConn(conn)} (databases: ${targets.join(', ')})`;
    return { location: notes.length > 0 ? `${location}; ${notes.join('; ')}` : location, parts: staged.parts, bytes: staged.bytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
