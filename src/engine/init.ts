import { RepriseError } from '../core/errors.js';
import { Repository } from '../repo/repository.js';
import { openBackend } from '../storage/open.js';
import type { Runtime } from './runtime.js';
import { tracked } from './tracked.js';

export interface InitResult {
  repository: string;
  id: string;
  catalog: string;
}

/**
 * Creates the configured repository and its catalog. Throws REPRISE_REPO_EXISTS when a
 * repository is already there (nothing is changed), REPRISE_PASSWORD_MISSING.
 */
export async function initRepository(runtime: Runtime): Promise<InitResult> {
  return tracked(
    runtime,
    { kind: 'init' },
    async () => {
      const settings = runtime.config.repository;
      if (!settings.password) {
        throw new RepriseError('REPRISE_PASSWORD_MISSING', 'repository: no password configured');
      }
      const backend = openBackend(settings, runtime.loaded.baseDir);
      const repo = await Repository.init({ backend, password: settings.password, signal: runtime.signal });
      await repo.close();
      return { repository: backend.location, id: repo.id, catalog: runtime.config.catalog };
    },
    (r) => ({ repository: r.repository, id: r.id }),
  );
}
