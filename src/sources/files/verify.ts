import { isRepriseError } from '../../core/errors.js';
import type { VerifyResult } from '../source.js';
import { walkTree } from './walk.js';

/**
 * Counts what a restored tree holds (files, dirs, symlinks, bytes, skipped special files).
 * Never throws for a missing or unreadable target: that is reported as a problem (ok false);
 * throws REPRISE_ABORTED only. Reads only; idempotent.
 */
export async function verifyTree(target: string, signal: AbortSignal): Promise<VerifyResult> {
  const counts = { files: 0, dirs: 0, symlinks: 0, bytes: 0, skipped: 0 };
  const problems: string[] = [];
  try {
    for await (const entry of walkTree(target, { exclude: () => false, oneFileSystem: false, signal, onWarning: () => counts.skipped++ })) {
      if (entry.rel === '.') continue;
      if (entry.type === 'file') {
        counts.files++;
        counts.bytes += Number(entry.stat.size);
      } else if (entry.type === 'dir') counts.dirs++;
      else counts.symlinks++;
    }
  } catch (err) {
    if (isRepriseError(err, 'REPRISE_ABORTED')) throw err;
    problems.push(err instanceof Error ? err.message : String(err));
  }
  return { ok: problems.length === 0, measurements: counts, problems };
}
