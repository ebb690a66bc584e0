import type { ModeState } from './mode.js';

/** Receives what a store's subscription learns. Both callbacks must not throw. */
export interface StoreListener {
  /** A new state was pushed (pub/sub, NOTIFY, file change). */
  change(state: ModeState): void;
  /**
   * The subscription went down (`ok` false, with the cause) or came back (`ok` true). On the way
   * back the tracker re-reads the store, as changes may have been missed meanwhile.
   */
  status(ok: boolean, error?: Error): void;
}

/**
 * Where the killswitch mode lives, shared by every instance of an application (file, Redis,
 * PostgreSQL). Implementations keep their connections open and reconnect by themselves.
 */
export interface ModeStore {
  /** The store's URL with secrets hidden, for messages and /health/detailed. */
  readonly description: string;
  /** The stored state (`OFF_STATE` when never written). Throws REPRISE_KILLSWITCH_STORE. Idempotent. */
  read(signal?: AbortSignal): Promise<ModeState>;
  /** Stores `state` and tells every subscriber. Throws REPRISE_KILLSWITCH_STORE. Idempotent. */
  write(state: ModeState, signal?: AbortSignal): Promise<void>;
  /** Starts pushing changes to `listener`; returns the function that stops it. Never throws. */
  subscribe(listener: StoreListener): () => void;
  /** Closes connections and watchers. Idempotent; never throws. */
  close(): Promise<void>;
}
