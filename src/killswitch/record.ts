import type { Catalog } from '../catalog/catalog.js';
import { toRepriseError } from '../core/errors.js';
import { disableKillswitch, enableKillswitch, type EnableKillswitch } from './api.js';
import type { ModeState } from './mode.js';
import type { ModeStore } from './store.js';

export type KillswitchChange = ({ mode: 'off' } & { by: string; reason?: string | undefined }) | EnableKillswitch;

export interface RecordedChange {
  state: ModeState;
  /** The catalog run id, or undefined when the catalog could not be written (the change stands). */
  runId: string | undefined;
  /** Why the change could not be recorded. */
  recordError: Error | undefined;
}

/**
 * Applies a killswitch change and records it in the catalog with who, when and why. The store is
 * written first: during an incident the change matters more than its history, so a catalog
 * failure is returned (recordError), not thrown. A failed change is recorded as failed, then
 * thrown (REPRISE_KILLSWITCH_STORE, REPRISE_USAGE). Idempotent in effect.
 */
export async function changeKillswitchRecorded(store: ModeStore, catalog: () => Promise<Catalog>, change: KillswitchChange, signal?: AbortSignal): Promise<RecordedChange> {
  const startedAt = new Date();
  const figures = {
    mode: change.mode,
    reason: change.reason ?? null,
    message: 'message' in change ? (change.message ?? null) : null,
    until: 'until' in change && change.until ? change.until.toISOString() : null,
    store: store.description,
  };
  const record = async (status: 'ok' | 'failed', error: { code: string; message: string } | null): Promise<{ runId?: string; recordError?: Error }> => {
    try {
      const runId = await (await catalog()).record({ kind: 'killswitch', subject: change.mode, actor: change.by, startedAt, status, figures, error });
      return { runId };
    } catch (err) {
      return { recordError: err instanceof Error ? err : new Error(String(err)) };
    }
  };
  let state: ModeState;
  try {
    state = change.mode === 'off' ? await disableKillswitch(store, change.by, signal) : await enableKillswitch(store, change, signal);
  } catch (err) {
    const error = toRepriseError(err);
    await record('failed', { code: error.code, message: error.message });
    throw error;
  }
  const recorded = await record('ok', null);
  return { state, runId: recorded.runId, recordError: recorded.recordError };
}
