import { randomBytes } from 'node:crypto';
import { RepriseError } from '../../core/errors.js';

/**
 * How dump files are named as parts: `globals.sql`, and `<db>/<file>` for each file pg_dump writes
 * in its directory format (`toc.dat`, `1234.dat`, `blobs.toc`, `blob_5678.dat`).
 */
export const GLOBALS_PART = 'globals.sql';

/** The part-name prefix of a database: its name, with `%` and `/` escaped so it stays one segment. Pure. */
export function databasePrefix(database: string): string {
  if (database === '.' || database === '..') return database.replace(/\./g, '%2E');
  return database.replace(/%/g, '%25').replace(/\//g, '%2F');
}

/** Inverse of databasePrefix. Pure. */
export function prefixDatabase(prefix: string): string {
  return prefix.replace(/%2F/gi, '/').replace(/%2E/gi, '.').replace(/%25/g, '%');
}

/** The only file names pg_dump's directory format writes; anything else in a manifest is refused. */
const DUMP_FILE = /^(toc\.dat|blobs\.toc|blob_\d+\.dat|\d+\.dat)$/;

/**
 * Splits a part name into its database and dump file. Throws REPRISE_INTEGRITY for a name this
 * source never writes (so a damaged or foreign manifest cannot write outside the restore folder). Pure.
 */
export function parsePartName(name: string): { database: string; file: string } | { globals: true } {
  if (name === GLOBALS_PART) return { globals: true };
  const slash = name.indexOf('/');
  const prefix = name.slice(0, slash);
  const file = name.slice(slash + 1);
  if (slash <= 0 || !DUMP_FILE.test(file)) {
    throw new RepriseError('REPRISE_INTEGRITY', `unexpected part "${name}" in a postgres snapshot`, {
      hint: 'The snapshot was not written by the postgres source; restore it with the source type that made it.',
    });
  }
  return { database: prefixDatabase(prefix), file };
}

/**
 * The name a new database is restored under before it is renamed: recognisably the target's
 * (`app_restoring_1a2b3c4d`), within PostgreSQL's 63-byte identifier limit. Pure but random.
 */
export function temporaryName(target: string): string {
  let head = Buffer.from(target, 'utf8').subarray(0, 40).toString('utf8');
  // A cut inside a multi-byte character decodes to U+FFFD: drop it.
  head = head.replace(/\uFFFD+$/, '');
  return `${head}_restoring_${randomBytes(4).toString('hex')}`;
}
