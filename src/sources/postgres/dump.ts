import { createReadStream } from 'node:fs';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addAbortSignal } from 'node:stream';
import { RepriseError, isRepriseError } from '../../core/errors.js';
import type { DumpPart } from '../source.js';
import { withDatabase } from './conn.js';
import { maintenanceConn, planDump, type DatabaseFacts, type DumpPlan, type PlanOptions } from './inspect.js';
import { DumpFollower, TABLE_DATA } from './follow.js';
import { databasePrefix, GLOBALS_PART } from './layout.js';
import { runTool } from './run-tool.js';
import type { PostgresSourceConfig } from './schema.js';

/**
 * pg_dump arguments for one database: directory format, uncompressed (the repository compresses
 * and deduplicates). The URL carries no password. Pure.
 */
export function pgDumpArgs(config: PostgresSourceConfig, plan: DumpPlan, db: DatabaseFacts, outDir: string): string[] {
  const args = ['--format=directory', '-Z0', `--jobs=${plan.jobs}`, `--file=${outDir}`, '--no-password'];
  for (const table of config.include_tables ?? []) args.push(`--table=${table}`);
  for (const table of config.exclude_tables ?? []) args.push(`--exclude-table=${table}`);
  if (config.lock_wait_timeout !== undefined) args.push(`--lock-wait-timeout=${Math.max(1, Math.round(config.lock_wait_timeout))}ms`);
  args.push(`--dbname=${withDatabase(plan.conn, db.name).url}`);
  return args;
}

/** toc.dat first (it describes the rest), then the data files in a stable order. */
function orderDumpFiles(files: string[]): string[] {
  const rank = (file: string): number => (file === 'toc.dat' ? 0 : file === 'blobs.toc' ? 1 : 2);
  return [...files].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true }));
}

async function filePart(name: string, path: string, signal: AbortSignal, extra?: Record<string, unknown>): Promise<DumpPart> {
  const info = await stat(path);
  return {
    name,
    type: 'file',
    mode: info.mode,
    size: info.size,
    ...(extra === undefined ? {} : { extra }),
    open: () => addAbortSignal(signal, createReadStream(path, { highWaterMark: 1 << 20 })),
  };
}

async function dumpGlobals(plan: DumpPlan, config: PostgresSourceConfig, path: string, signal: AbortSignal): Promise<boolean> {
  if (plan.globals === 'skipped' || plan.pgDumpall === undefined) return false;
  const args = ['--globals-only', '--no-password', `--dbname=${maintenanceConn(config, plan.conn).url}`];
  if (plan.globals === 'no-role-passwords') args.push('--no-role-passwords');
  try {
    await runTool(plan.pgDumpall.path, args, { env: plan.env, signal, password: plan.conn.password, stdoutFile: path });
    return true;
  } catch (err) {
    // Managed services deny parts of the catalog even to admin roles: roles are a bonus, not the backup.
    if (isRepriseError(err, 'REPRISE_TOOL_FAILED') && /permission denied/i.test(err.message)) {
      await rm(path, { force: true });
      return false;
    }
    throw err;
  }
}

/** Runs pg_dump for one database into `outDir`; resolves when it exits, rejects as runTool. */
function startPgDump(config: PostgresSourceConfig, plan: DumpPlan, db: DatabaseFacts, outDir: string, signal: AbortSignal): Promise<string> {
  return runTool(plan.pgDump.path, pgDumpArgs(config, plan, db, outDir), { env: plan.env, signal, password: plan.conn.password });
}

/**
 * Yields the parts of a consistent dump of every configured database: `globals.sql` (roles,
 * tablespaces; when readable) then `<db>/<file>` for each file of `pg_dump -Fd -Z0 -j N`. Each
 * table's data file is yielded as soon as pg_dump starts it and read while pg_dump writes it
 * (DumpFollower), so storing overlaps dumping; `toc.dat` and large objects follow once pg_dump has
 * succeeded. A pg_dump that fails makes the part being read, or at the latest the iteration before
 * it ends, throw REPRISE_TOOL_FAILED (pg_dump writes a table's COPY terminator before it checks
 * the COPY's outcome, so that part may end first): a consumer that commits only after the whole
 * iteration never commits a failed dump. One that fails before writing any data (a lock not
 * granted, a permission) yields no part at all, globals included. Files are removed from the
 * private temp folder (0700) once read, the folder when the iteration ends, fails or is abandoned;
 * abort or abandon kills pg_dump and its workers. Throws as planDump, REPRISE_TOOL_FAILED,
 * REPRISE_ABORTED.
 */
export async function* dumpPostgres(config: PostgresSourceConfig, signal: AbortSignal, options: PlanOptions = {}): AsyncGenerator<DumpPart> {
  const plan = await planDump(config, signal, options);
  const dir = await mkdtemp(join(tmpdir(), 'reprise-pg-'));
  try {
    await chmod(dir, 0o700);
    const globalsPath = join(dir, GLOBALS_PART);
    let globalsPending = await dumpGlobals(plan, config, globalsPath, signal);
    // Held back until a database dump is under way: a backup whose pg_dump fails at once yields nothing.
    async function* releaseGlobals(): AsyncGenerator<DumpPart> {
      if (!globalsPending) return;
      yield await filePart(GLOBALS_PART, globalsPath, signal, { globals: plan.globals });
      await rm(globalsPath, { force: true });
      globalsPending = false;
    }
    for (const [index, db] of plan.databases.entries()) {
      const prefix = databasePrefix(db.name);
      const outDir = join(dir, `db-${index}`);
      // Its own signal, so that an abandoned iteration also stops pg_dump.
      const stop = new AbortController();
      const onAbort = (): void => stop.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      const run = startPgDump(config, plan, db, outDir, stop.signal);
      const follower = new DumpFollower(outDir, run, signal);
      try {
        const seen = new Set<string>();
        const afterRun: string[] = [];
        for (let fresh = await follower.newFiles(seen); fresh.length > 0; fresh = await follower.newFiles(seen)) {
          for (const file of fresh) {
            seen.add(file);
            if (!TABLE_DATA.test(file)) {
              afterRun.push(file);
              continue;
            }
            yield* releaseGlobals();
            const path = join(outDir, file);
            yield { name: `${prefix}/${file}`, type: 'file', mode: (await stat(path)).mode, open: () => follower.read(file) };
            // The consumer has read it: free the disk while pg_dump goes on.
            await rm(path, { force: true });
          }
        }
        await follower.done();
        yield* releaseGlobals();
        for (const file of orderDumpFiles(afterRun)) {
          const path = join(outDir, file);
          const extra = file === 'toc.dat' ? { database: db.name, encoding: db.encoding, collate: db.collate, ctype: db.ctype } : undefined;
          yield await filePart(`${prefix}/${file}`, path, signal, extra);
          await rm(path, { force: true });
        }
      } finally {
        stop.abort();
        signal.removeEventListener('abort', onAbort);
        await run.catch(() => undefined);
      }
      await rm(outDir, { recursive: true, force: true });
    }
    if (signal.aborted) throw new RepriseError('REPRISE_ABORTED', 'operation cancelled');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
