import { RepriseError } from '../core/errors.js';
import type { RepositoryHandle, Snapshot, SnapshotSummary } from '../repo/api.js';

/** Tag of the snapshots taken of a restore target before it is overwritten. */
export const SAFETY_TAG = 'safety';

/** Snapshots of `source`, newest first; safety snapshots only when asked. Reads only. */
export async function snapshotsOf(
  repo: RepositoryHandle,
  source: string | undefined,
  options: { includeSafety?: boolean; signal?: AbortSignal } = {},
): Promise<SnapshotSummary[]> {
  const all = await repo.listSnapshots(options.signal);
  return all
    .filter((s) => source === undefined || s.source === source)
    .filter((s) => options.includeSafety || !s.tags.includes(SAFETY_TAG))
    .sort((a, b) => b.time.localeCompare(a.time));
}

/**
 * Resolves `latest` (newest non-safety snapshot of the source) or an id prefix.
 * Throws REPRISE_SNAPSHOT_NOT_FOUND / REPRISE_SNAPSHOT_AMBIGUOUS, or when the id belongs to another source.
 */
export async function selectSnapshot(
  repo: RepositoryHandle,
  source: string,
  selector: string,
  signal?: AbortSignal,
): Promise<Snapshot> {
  if (selector === 'latest') {
    const newest = (await snapshotsOf(repo, source, signal ? { signal } : {}))[0];
    if (!newest) {
      throw new RepriseError('REPRISE_SNAPSHOT_NOT_FOUND', `source "${source}" has no snapshot yet`, {
        hint: `Run \`reprise backup ${source}\` first.`,
      });
    }
    return repo.loadSnapshot(newest.id, signal);
  }
  const snapshot = await repo.loadSnapshot(selector, signal);
  if (snapshot.source !== source) {
    throw new RepriseError('REPRISE_SNAPSHOT_NOT_FOUND', `snapshot ${selector} belongs to source "${snapshot.source}", not "${source}"`, {
      hint: `Restore it with \`reprise restore ${snapshot.source} --snapshot ${selector} …\`.`,
    });
  }
  return snapshot;
}
