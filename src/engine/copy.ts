import type { CopyReport } from '../repo/api.js';
import { withRepoLock } from './lock.js';
import type { Runtime } from './runtime.js';
import { snapshotsOf } from './select.js';
import { tracked } from './tracked.js';

/**
 * Copies snapshots (all, or those of `sources`) to the copy destination `name`, creating it on
 * first use and uploading only the chunks it lacks. Idempotent.
 */
export async function copySnapshots(runtime: Runtime, name: string, sources: string[] = []): Promise<CopyReport & { copy: string }> {
  runtime.copyConfig(name);
  return tracked(
    runtime,
    { kind: 'copy', subject: name },
    async () => {
      const repo = await runtime.openRepository();
      const destination = await runtime.openCopy(name, true);
      const report = await withRepoLock(repo, 'shared', runtime.signal, async (signal) => {
        const wanted = new Set(sources);
        const ids = (await snapshotsOf(repo, undefined, { includeSafety: true, signal }))
          .filter((s) => wanted.size === 0 || wanted.has(s.source))
          .map((s) => s.id);
        return withRepoLock(destination, 'shared', signal, (inner) => repo.copySnapshots(destination, ids, inner));
      });
      return { ...report, copy: name };
    },
    (r) => ({ ...r }),
  );
}
