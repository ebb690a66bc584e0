import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { RepriseError } from '../../core/errors.js';
import type { DumpPart, RestoreOptions, RestorePart, Source, SourceInfo, TargetState, VerifyResult } from '../source.js';
import { backupSqlite } from './backup.js';
import { openSqliteSource, readFacts } from './open.js';
import { probeSqliteTarget, restoreSqlite } from './restore.js';
import type { SqliteSourceConfig } from './schema.js';
import { verifySqlite } from './verify.js';

export { sqliteSourceSchema, type SqliteSourceConfig } from './schema.js';

/**
 * The SQLite source (`type: sqlite`): an online backup-API copy of one database file. `path` is
 * resolved from `baseDir` (the configuration file's folder); restore and verify targets from
 * the current directory. Never throws; idempotent.
 */
export function createSqliteSource(name: string, config: SqliteSourceConfig, baseDir: string): Source {
  const path = resolve(baseDir, config.path);
  const partName = basename(path);
  return {
    kind: 'sqlite',
    name,
    async inspect(signal: AbortSignal): Promise<SourceInfo> {
      signal.throwIfAborted();
      const db = openSqliteSource(path);
      try {
        const facts = readFacts(db);
        const walSize = await stat(`${path}-wal`).then((s) => s.size, () => 0);
        return {
          kind: 'sqlite',
          location: path,
          versions: { sqlite: facts.sqliteVersion },
          sizeBytes: facts.pageSize * facts.pageCount + walSize,
          facts: { ...facts },
        };
      } catch (err) {
        if (err instanceof RepriseError) throw err;
        throw new RepriseError('REPRISE_SOURCE_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
      } finally {
        db.close();
      }
    },
    async *dump(signal: AbortSignal): AsyncIterable<DumpPart> {
      const db = openSqliteSource(path);
      // A private folder (mode 0700): the copy holds the application's data.
      const dir = await mkdtemp(join(tmpdir(), 'reprise-sqlite-'));
      try {
        const copy = join(dir, partName);
        let facts;
        try {
          facts = await backupSqlite(db, copy, signal);
        } finally {
          db.close();
        }
        const { size } = await stat(copy);
        yield { name: partName, type: 'file', size, extra: { ...facts }, open: () => createReadStream(copy) };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    probeTarget(target: string): Promise<TargetState> {
      return probeSqliteTarget(target);
    },
    restore(parts: AsyncIterable<RestorePart>, options: RestoreOptions) {
      return restoreSqlite(parts, options);
    },
    async verify(target: string, signal: AbortSignal): Promise<VerifyResult> {
      signal.throwIfAborted();
      return verifySqlite(resolve(target));
    },
    forTarget(target: string): Source {
      return createSqliteSource(name, { ...config, path: resolve(target) }, baseDir);
    },
  };
}
