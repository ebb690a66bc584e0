import type { Retention } from '../config/fields.js';
import type { PruneReport } from '../repo/api.js';
import { withRepoLock } from './lock.js';
import { applyRetention } from './retention.js';
import type { Runtime } from './runtime.js';
import { snapshotsOf } from './select.js';
import { tracked } from './tracked.js';

export interface ForgetRequest {
  /** Sources to apply retention to; empty = all declared sources. */
  sources: string[];
  /** Rules from the command line; when any is set they replace the configured ones. */
  policy: Retention;
  dryRun: boolean;
  prune: boolean;
}

export interface ForgetPlan {
  source: string;
  policy: Retention;
  keep: Array<{ id: string; time: string; reasons: string[] }>;
  remove: Array<{ id: string; time: string }>;
}

export interface ForgetResult {
  dryRun: boolean;
  plans: ForgetPlan[];
  removed: number;
  prune: PruneReport | null;
}

/**
 * Applies retention per source (command-line rules, else the source's `retention`, else
 * `defaults.retention`), listing why each kept snapshot is kept. Without dryRun, removes the
 * others under an exclusive lock and, with prune, removes unreferenced data. Safety snapshots are
 * never selected by retention. Idempotent.
 */
export async function forgetSnapshots(runtime: Runtime, request: ForgetRequest): Promise<ForgetResult> {
  return tracked(
    runtime,
    { kind: 'forget' },
    async () => {
      const repo = await runtime.openRepository();
      const plan = async (signal: AbortSignal): Promise<ForgetPlan[]> => {
        const plans: ForgetPlan[] = [];
        for (const source of runtime.sourceNames(request.sources)) {
          const policy = effectivePolicy(runtime, source, request.policy);
          const decision = applyRetention(await snapshotsOf(repo, source, { signal }), policy);
          plans.push({
            source,
            policy,
            keep: decision.keep.map((k) => ({ id: k.snapshot.id, time: k.snapshot.time, reasons: k.reasons })),
            remove: decision.remove.map((s) => ({ id: s.id, time: s.time })),
          });
        }
        return plans;
      };
      if (request.dryRun) return { dryRun: true, plans: await plan(runtime.signal), removed: 0, prune: null };
      return withRepoLock(repo, 'exclusive', runtime.signal, async (signal) => {
        const plans = await plan(signal);
        const ids = plans.flatMap((p) => p.remove.map((r) => r.id));
        await repo.forgetSnapshots(ids, signal);
        const prune = request.prune ? await repo.prune({ signal, onProgress: progress(runtime) }) : null;
        return { dryRun: false, plans, removed: ids.length, prune };
      });
    },
    (r) => ({ removed: r.removed, dryRun: r.dryRun, bytesFreed: r.prune?.bytesFreed ?? 0 }),
  );
}

/** Removes unreferenced data and repacks mostly-garbage packs, under an exclusive lock. */
export async function pruneRepository(runtime: Runtime, dryRun: boolean): Promise<PruneReport> {
  return tracked(
    runtime,
    { kind: 'prune' },
    async () => {
      const repo = await runtime.openRepository();
      return withRepoLock(repo, 'exclusive', runtime.signal, (signal) => repo.prune({ dryRun, signal, onProgress: progress(runtime) }));
    },
    (r) => ({ ...r }),
  );
}

function effectivePolicy(runtime: Runtime, source: string, fromCli: Retention): Retention {
  const given = Object.values(fromCli).some((v) => v !== undefined);
  if (given) return fromCli;
  return runtime.config.sources[source]?.retention ?? runtime.config.defaults.retention ?? {};
}

function progress(runtime: Runtime) {
  return (done: number, total: number) => runtime.emit({ type: 'progress', subject: 'repository', phase: 'prune', done, total, unit: 'items' });
}
