import type { CheckReport } from '../repo/api.js';
import { withRepoLock } from './lock.js';
import type { Runtime } from './runtime.js';
import { tracked } from './tracked.js';

/**
 * Verifies the repository: structure and index always; with `readData` (true or a percentage of
 * packs) every chunk is decrypted and hashed. Returns the report; the caller turns `ok: false`
 * into REPRISE_CHECK_FAILED. Records the run.
 */
export async function checkRepository(runtime: Runtime, readData: boolean | number): Promise<CheckReport> {
  return tracked(
    runtime,
    { kind: 'check' },
    async () => {
      const repo = await runtime.openRepository({ verifyAhead: readData === true });
      return withRepoLock(repo, 'shared', runtime.signal, (signal) =>
        repo.check({
          readData,
          signal,
          onProgress: (done, total) => runtime.emit({ type: 'progress', subject: 'repository', phase: 'check', done, total, unit: 'items' }),
        }),
      );
    },
    (r) => ({ ok: r.ok, packsChecked: r.packsChecked, bytesChecked: r.bytesChecked, damagedPacks: r.damagedPacks.length }),
  );
}
