import { RepriseError } from '../core/errors.js';
import { effectiveState, isMode, OFF_STATE, type Mode, type ModeState } from './mode.js';
import type { ModeStore } from './store.js';

export interface EnableKillswitch {
  mode: Exclude<Mode, 'off'>;
  reason: string;
  message?: string | undefined;
  /** When the mode lapses back to `off`; none by default. */
  until?: Date | undefined;
  /** Who asks (user@host, a runbook name). */
  by: string;
}

/** What `reprise killswitch status` shows. */
export type KillswitchStatus = ModeState;

/**
 * Sets a mode in the store; every instance subscribed learns it within a second. Returns the
 * state written. Throws REPRISE_USAGE for a bad mode or an `until` in the past,
 * REPRISE_KILLSWITCH_STORE when the store cannot be written. Idempotent in effect (`since` is renewed).
 */
export async function enableKillswitch(store: ModeStore, change: EnableKillswitch, signal?: AbortSignal): Promise<ModeState> {
  if (!isMode(change.mode) || change.mode === ('off' as Mode)) {
    throw new RepriseError('REPRISE_USAGE', `unknown killswitch mode: ${String(change.mode)}`, {
      hint: 'Use maintenance, degraded or read_only; `reprise killswitch disable` turns it off.',
    });
  }
  const now = new Date();
  if (change.until && change.until.getTime() <= now.getTime()) {
    throw new RepriseError('REPRISE_USAGE', `killswitch expiry ${change.until.toISOString()} is in the past`);
  }
  const state: ModeState = {
    mode: change.mode,
    reason: change.reason || null,
    message: change.message || null,
    since: now.toISOString(),
    until: change.until ? change.until.toISOString() : null,
    by: change.by || null,
  };
  await store.write(state, signal);
  return state;
}

/**
 * Turns the killswitch off. Returns the state written. Throws REPRISE_KILLSWITCH_STORE.
 * Idempotent in effect.
 */
export async function disableKillswitch(store: ModeStore, by: string, signal?: AbortSignal): Promise<ModeState> {
  const state: ModeState = { ...OFF_STATE, since: new Date().toISOString(), by: by || null };
  await store.write(state, signal);
  return state;
}

/**
 * The mode in force now (an expired mode reads as `off`). Throws REPRISE_KILLSWITCH_STORE.
 * Reads only; idempotent.
 */
export async function killswitchStatus(store: ModeStore, signal?: AbortSignal): Promise<KillswitchStatus> {
  return effectiveState(await store.read(signal));
}
