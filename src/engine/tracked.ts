import os from 'node:os';
import type { RunKind } from '../catalog/catalog.js';
import { toRepriseError } from '../core/errors.js';
import type { Runtime } from './runtime.js';

/**
 * Runs `work` as one catalog run: recorded as running, then ok / failed / interrupted with the
 * figures `work` returns (through `figuresOf`) or the error's code. Runs of this host left
 * `running` by a dead process are settled as interrupted first. A catalog that cannot be
 * opened does not stop the work: the failure is reported as a warning event.
 * Rethrows what `work` throws.
 */
export async function tracked<T>(
  runtime: Runtime,
  run: { kind: RunKind; subject?: string | null },
  work: () => Promise<T>,
  figuresOf: (result: T) => Record<string, unknown> = () => ({}),
): Promise<T> {
  let catalogId: string | undefined;
  const catalog = await runtime.openCatalog().catch((err: unknown) => {
    runtime.emit({ type: 'warning', subject: run.subject ?? run.kind, message: `catalog unavailable: ${toRepriseError(err).message}` });
    return undefined;
  });
  // Before recording this run: runs of this host whose process died (kill -9, a reboot) would
  // otherwise stay `running` forever.
  await catalog?.settleOrphans().catch(() => 0);
  catalogId = await catalog
    ?.startRun({ kind: run.kind, subject: run.subject ?? null, actor: runtime.actor, figures: { host: os.hostname() } })
    .catch(() => undefined);
  const started = performance.now();
  try {
    const result = await work();
    if (catalog && catalogId) {
      await catalog.finishRun(catalogId, {
        status: 'ok',
        figures: { ...figuresOf(result), durationMs: Math.round(performance.now() - started) },
      });
    }
    return result;
  } catch (err) {
    const error = toRepriseError(err);
    if (catalog && catalogId) {
      await catalog
        .finishRun(catalogId, {
          status: error.code === 'REPRISE_ABORTED' ? 'interrupted' : 'failed',
          error: { code: error.code, message: error.message },
          figures: { durationMs: Math.round(performance.now() - started) },
        })
        .catch(() => {});
    }
    throw err;
  }
}
