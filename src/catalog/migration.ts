import { RepriseError } from '../core/errors.js';

/** One numbered schema change. Versions start at 1, have no gaps, and never change once released. */
export interface Migration {
  version: number;
  name: string;
  /** Statements to run, in order, inside the migration transaction. */
  statements: readonly string[];
}

/** The highest version of a migration list. Pure; never throws. */
export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0);
}

/**
 * Throws REPRISE_CATALOG when the catalog was migrated by a newer Reprise than this one, since
 * writing rows in an older shape could corrupt what the newer code expects. Pure otherwise.
 */
export function assertNotNewer(applied: number, migrations: readonly Migration[], catalogName: string): void {
  const known = latestVersion(migrations);
  if (applied > known) {
    throw new RepriseError(
      'REPRISE_CATALOG',
      `catalog ${catalogName} has schema version ${applied}, newer than this build of reprise knows (${known})`,
      { hint: 'Upgrade reprise on this machine to the version the other agents run (or newer).', details: { applied, known } },
    );
  }
}
