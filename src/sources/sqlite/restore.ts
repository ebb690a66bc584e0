import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { RepriseError } from '../../core/errors.js';
import type { RestoreOptions, RestorePart, RestoreResult, TargetState } from '../source.js';
import { writeInPieces } from '../../core/write-pieces.js';

/** Files SQLite keeps beside a database; stale ones must never meet a new main file. */
const SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

/** What is at `target` now. Throws nothing for a missing file. Idempotent, writes nothing. */
export async function probeSqliteTarget(target: string): Promise<TargetState> {
  const path = resolve(target);
  try {
    const st = await stat(path);
    return { exists: true, empty: st.size === 0, location: path };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, empty: true, location: path };
    throw new RepriseError('REPRISE_TARGET_UNREACHABLE', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function writeSynced(path: string, content: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<number> {
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  let bytes = 0;
  try {
    for await (const chunk of content) {
      signal.throwIfAborted();
      await writeInPieces(fh, chunk);
      bytes += chunk.length;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return bytes;
}

/** Returns the problems `PRAGMA integrity_check` reports (empty when 'ok'). Throws SqliteError. */
export function integrityProblems(db: Database.Database): string[] {
  const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
  return rows.map((r) => r.integrity_check).filter((m) => m !== 'ok');
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Restores the single database part into `options.target`: written to a temp file beside it,
 * fsynced, checked with `PRAGMA integrity_check`, then renamed into place (stale -wal/-shm/-journal
 * of a replaced database removed first). An existing non-empty target needs `force`
 * (REPRISE_TARGET_NOT_EMPTY). Throws REPRISE_INTEGRITY when the restored file fails its check,
 * REPRISE_TARGET_UNREACHABLE, REPRISE_ABORTED. An interrupted restore leaves only the old target.
 * Not idempotent.
 */
export async function restoreSqlite(parts: AsyncIterable<RestorePart>, options: RestoreOptions): Promise<RestoreResult> {
  const target = resolve(options.target);
  const { signal } = options;
  const state = await probeSqliteTarget(target);
  if (!state.empty && !options.force) {
    throw new RepriseError('REPRISE_TARGET_NOT_EMPTY', `${target} already exists and is not empty`, {
      hint: 'Restore to a new path (--to other.db), or pass --force to replace it (a safety snapshot is taken first).',
    });
  }
  let restored: { bytes: number } | undefined;
  for await (const part of parts) {
    if (part.type !== 'file' || !part.content) continue;
    if (restored) {
      throw new RepriseError('REPRISE_USAGE', 'a SQLite snapshot holds one database file; this one holds more parts');
    }
    const tmp = join(dirname(target), `.${basename(target)}.reprise-${randomBytes(6).toString('hex')}.tmp`);
    try {
      await mkdir(dirname(target), { recursive: true });
      const bytes = await writeSynced(tmp, part.content() as AsyncIterable<Uint8Array>, signal);
      const db = new Database(tmp, { fileMustExist: true });
      let problems: string[];
      try {
        problems = integrityProblems(db);
      } finally {
        db.close();
      }
      if (problems.length > 0) {
        throw new RepriseError('REPRISE_INTEGRITY', `restored SQLite file fails integrity_check: ${problems.slice(0, 5).join('; ')}`, {
          hint: 'The snapshot content is damaged: run `reprise check --read-data`, or restore an older snapshot.',
        });
      }
      signal.throwIfAborted();
      for (const side of SIDE_FILES) await rm(target + side, { force: true });
      await rename(tmp, target);
      await fsyncDir(dirname(target));
      restored = { bytes };
    } catch (err) {
      await Promise.all(['', ...SIDE_FILES].map((s) => rm(tmp + s, { force: true })));
      if (err instanceof RepriseError) throw err;
      if ((err as Error).name === 'AbortError') throw new RepriseError('REPRISE_ABORTED', 'SQLite restore cancelled', { cause: err });
      const code = (err as NodeJS.ErrnoException).code;
      if (typeof code === 'string' && code.startsWith('SQLITE_')) {
        throw new RepriseError('REPRISE_INTEGRITY', `restored SQLite file cannot be opened: ${(err as Error).message}`, { cause: err });
      }
      throw new RepriseError('REPRISE_TARGET_UNREACHABLE', `cannot write ${target}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (!restored) throw new RepriseError('REPRISE_USAGE', 'the snapshot holds no SQLite database part');
  return { location: target, parts: 1, bytes: restored.bytes };
}
