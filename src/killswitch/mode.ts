/** The killswitch mode model: what an application or the gate should do with incoming requests. */

export const MODES = ['off', 'maintenance', 'degraded', 'read_only'] as const;
export type Mode = (typeof MODES)[number];

/** The state held by a mode store; times are ISO-8601 strings so it round-trips through JSON as is. */
export interface ModeState {
  mode: Mode;
  reason: string | null;
  /** Shown to users on the maintenance page and in JSON answers. */
  message: string | null;
  /** When this mode was set. */
  since: string;
  /** When the mode lapses back to `off` by itself; null for no expiry. */
  until: string | null;
  /** Who set it (user@host, a runbook, an API token name). */
  by: string | null;
}

/** The state of a store nobody has written to yet. */
export const OFF_STATE: ModeState = Object.freeze({
  mode: 'off',
  reason: null,
  message: null,
  since: new Date(0).toISOString(),
  until: null,
  by: null,
}) as ModeState;

/** True when `value` names a mode. Never throws. */
export function isMode(value: unknown): value is Mode {
  return typeof value === 'string' && (MODES as readonly string[]).includes(value);
}

const MAX_TEXT = 2000;

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value.slice(0, MAX_TEXT) : null;
}

function isoOrNull(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : new Date(time).toISOString();
}

/**
 * Reads a state from untrusted JSON (a store's payload). Returns undefined when it is not a
 * state, so a corrupt store value is treated like an unreadable store (last known mode kept).
 * Never throws; idempotent.
 */
export function parseModeState(value: unknown): ModeState | undefined {
  if (typeof value === 'string') {
    try {
      return parseModeState(JSON.parse(value));
    } catch {
      return undefined;
    }
  }
  if (!value || typeof value !== 'object') return undefined;
  const raw = value as Record<string, unknown>;
  if (!isMode(raw.mode)) return undefined;
  return {
    mode: raw.mode,
    reason: text(raw.reason),
    message: text(raw.message),
    since: isoOrNull(raw.since) ?? OFF_STATE.since,
    until: isoOrNull(raw.until),
    by: text(raw.by),
  };
}

/**
 * The state in force at `now`: a mode whose `until` has passed is `off`. Never throws; pure.
 */
export function effectiveState(state: ModeState, now: number = Date.now()): ModeState {
  if (state.mode === 'off' || state.until === null) return state;
  const until = Date.parse(state.until);
  if (until > now) return state;
  return { ...OFF_STATE, since: state.until, by: state.by, reason: 'expired' };
}

/** True when both describe the same change (same mode, set at the same time). Pure. */
export function sameState(a: ModeState, b: ModeState): boolean {
  return a.mode === b.mode && a.since === b.since && a.until === b.until && a.reason === b.reason && a.message === b.message;
}
