import path from 'node:path';
import type { Catalog } from './catalog.js';
import { openSqliteCatalog } from './sqlite/index.js';

/**
 * Opens the catalog named by the `catalog:` setting: a `postgres://` or `postgresql://` url opens
 * the shared PostgreSQL catalog; anything else is a SQLite file, relative to `baseDir` (the folder
 * of reprise.yaml). Throws REPRISE_CATALOG (password redacted) when it cannot be opened.
 * Idempotent: opening twice applies migrations once.
 */
export async function openCatalog(setting: string, baseDir: string): Promise<Catalog> {
  // Imported on demand: the pg driver is not needed by the default SQLite catalog.
  if (/^postgres(ql)?:\/\//i.test(setting)) return (await import('./postgres/index.js')).openPostgresCatalog(setting);
  if (setting === ':memory:') return openSqliteCatalog(setting);
  return openSqliteCatalog(path.resolve(baseDir, setting));
}
