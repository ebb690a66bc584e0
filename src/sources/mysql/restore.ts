import { RepriseError } from '../../core/errors.js';
import { runToolWithInput } from '../process.js';
import type { RestoreOptions, RestorePart, RestoreResult, TargetState } from '../source.js';
import { withMysql } from './connect.js';
import { countObjects } from './databases.js';
import { connectionArgs, passwordEnv } from './tools.js';
import { describeMysql, quoteIdent, type MysqlConn } from './url.js';

/**
 * What is at the target database now. Throws REPRISE_TARGET_UNREACHABLE. Idempotent, writes nothing.
 */
export async function probeMysqlTarget(conn: MysqlConn, database: string, signal: AbortSignal): Promise<TargetState> {
  const { exists, objects } = await withMysql(conn, 'target', signal, null, (c) => countObjects(c, database));
  return { exists, empty: objects === 0, location: describeMysql(conn, database) };
}

function databaseOf(part: RestorePart): string {
  const fromExtra = part.extra?.database;
  if (typeof fromExtra === 'string') return fromExtra;
  return part.name.replace(/\.sql$/, '');
}

function charsetClause(options: RestoreOptions, database: string): string {
  const facts = (options.info.facts.databases as Record<string, { charset?: string; collation?: string }> | undefined)?.[database];
  const charset = facts?.charset && /^\w+$/.test(facts.charset) ? facts.charset : 'utf8mb4';
  const collation = facts?.collation && /^\w+$/.test(facts.collation) ? ` COLLATE ${facts.collation}` : '';
  return ` CHARACTER SET ${charset}${collation}`;
}

/**
 * Restores each `<db>.sql` part with the mariadb/mysql client. With a database in the target url
 * there must be one part, restored under that name; without, each part goes to its own name.
 * A new database is created; an existing non-empty one is dropped and recreated only with
 * `force`, else REPRISE_TARGET_NOT_EMPTY. On failure the database being written is dropped, so no
 * half-restored database is left under its final name. Throws REPRISE_TOOL_FAILED,
 * REPRISE_TARGET_UNREACHABLE, REPRISE_ABORTED. Not idempotent.
 */
export async function restoreMysql(
  clientTool: string,
  target: MysqlConn,
  parts: AsyncIterable<RestorePart>,
  options: RestoreOptions,
): Promise<RestoreResult> {
  const { signal } = options;
  let count = 0;
  let bytes = 0;
  const written: string[] = [];
  for await (const part of parts) {
    if (part.type !== 'file' || !part.content) continue;
    const sourceDb = databaseOf(part);
    if (target.database !== undefined && count > 0) {
      throw new RepriseError('REPRISE_USAGE', `the snapshot holds several databases; ${describeMysql(target)} names only one`, {
        hint: 'Give a target url without a database (mysql://user@host:port/) to restore each under its own name.',
      });
    }
    const database = target.database ?? sourceDb;
    const created = await withMysql(target, 'target', signal, null, async (c) => {
      const state = await countObjects(c, database);
      if (state.objects > 0 && !options.force) {
        throw new RepriseError('REPRISE_TARGET_NOT_EMPTY', `${describeMysql(target, database)} already holds ${state.objects} tables, views, routines or events`, {
          hint: 'Restore into a new database (--to mysql://…/newname), or pass --force to drop and recreate it (a safety snapshot is taken first).',
        });
      }
      if (state.exists) await c.query(`DROP DATABASE ${quoteIdent(database)}`);
      await c.query(`CREATE DATABASE ${quoteIdent(database)}${charsetClause(options, sourceDb)}`);
      return true;
    });
    try {
      const res = await runToolWithInput(
        clientTool,
        [...connectionArgs(target), '--default-character-set=utf8mb4', '--batch', '--', database],
        part.content(),
        { signal, env: passwordEnv(target.password), label: `${clientTool.split('/').pop() ?? clientTool} ${database}` },
      );
      bytes += res.bytes;
    } catch (err) {
      if (created) {
        // Best effort on a fresh connection: the failure may have been an abort.
        await withMysql(target, 'target', new AbortController().signal, null, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)}`)).catch(() => undefined);
      }
      throw err;
    }
    written.push(database);
    count += 1;
  }
  return { location: written.map((d) => describeMysql(target, d)).join(', ') || describeMysql(target), parts: count, bytes };
}
