export { MODES, OFF_STATE, effectiveState, isMode, parseModeState, sameState, type Mode, type ModeState } from './mode.js';
export type { ModeStore, StoreListener } from './store.js';
export { openModeStore, type OpenModeStoreOptions } from './open-store.js';
export { ModeTracker, type ModeTrackerOptions, type StoreHealth } from './mode-tracker.js';
export { disableKillswitch, enableKillswitch, killswitchStatus, type EnableKillswitch, type KillswitchStatus } from './api.js';
export { changeKillswitchRecorded, type KillswitchChange, type RecordedChange } from './record.js';
