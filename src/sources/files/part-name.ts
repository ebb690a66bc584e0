import { RepriseError } from '../../core/errors.js';

/** The part name of the source root itself (its mode and mtime are kept). */
export const ROOT_PART = '.';

/**
 * Splits a part name into path segments, refusing any name that could land outside the restore
 * target: absolute, `..` or `.` segments, empty segments, NUL bytes. `.` alone is the root
 * (no segments). Throws REPRISE_INTEGRITY. Pure, idempotent.
 */
export function partSegments(name: string): string[] {
  if (name === ROOT_PART) return [];
  const segments = name.split('/');
  const unsafe =
    name.length === 0 ||
    name.includes('\0') ||
    segments.some((s) => s === '' || s === '.' || s === '..');
  if (unsafe) {
    throw new RepriseError('REPRISE_INTEGRITY', `part name ${JSON.stringify(name)} would escape the restore target`, {
      hint: 'The snapshot holds a path that is absolute or contains `..`; it was not written by reprise. Restore from another snapshot or copy.',
      details: { part: name },
    });
  }
  return segments;
}
