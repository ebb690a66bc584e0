import { opendir, stat } from 'node:fs/promises';
import type { TargetState } from '../source.js';
import { errnoCode, targetUnwritable } from './fs-errors.js';

/**
 * What is at `target` (a link to a directory counts as the directory): a missing or empty
 * directory is empty; a directory with any entry, or anything that is not a directory, is not. Reads only; idempotent. Throws REPRISE_TARGET_UNREACHABLE
 * when the path cannot be inspected (e.g. permission denied).
 */
export async function probeTree(target: string): Promise<TargetState> {
  let isDir: boolean;
  try {
    isDir = (await stat(target)).isDirectory();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { exists: false, empty: true, location: target };
    throw targetUnwritable(target, err);
  }
  if (!isDir) return { exists: true, empty: false, location: target };
  try {
    const dir = await opendir(target);
    try {
      return { exists: true, empty: (await dir.read()) === null, location: target };
    } finally {
      await dir.close();
    }
  } catch (err) {
    throw targetUnwritable(target, err);
  }
}
