import type { RepoStats } from '../repo/api.js';
import type { Runtime } from './runtime.js';

/** Raw vs stored sizes, dedup and compression ratios. Reads only. */
export async function repositoryStats(runtime: Runtime): Promise<RepoStats & { location: string }> {
  const repo = await runtime.openRepository();
  return { ...(await repo.stats(runtime.signal)), location: repo.backend.location };
}
