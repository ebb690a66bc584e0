/**
 * The catalog seam: an append-mostly history of everything Reprise does. SQLite by default,
 * PostgreSQL when several agents share one history.
 */

import type { ProcessIdentity } from '../core/process-identity.js';

export type RunKind =
  | 'init'
  | 'backup'
  | 'restore'
  | 'check'
  | 'forget'
  | 'prune'
  | 'copy'
  | 'drill'
  | 'status'
  | 'runbook'
  | 'runbook_step'
  | 'killswitch'
  | 'incident'
  | 'key';

export type RunStatus = 'running' | 'ok' | 'warning' | 'failed' | 'interrupted';

export interface RunRecord {
  id: string;
  kind: RunKind;
  /** Source, runbook or check name the run is about, when there is one. */
  subject: string | null;
  status: RunStatus;
  startedAt: Date;
  /** Null while running, and for a run settled as interrupted after its process died (end unknown). */
  finishedAt: Date | null;
  host: string;
  /** Who started it (user@host, `scheduler`, an API token name). */
  actor: string | null;
  /** Measured figures: bytes, files, durations, snapshot id, RTO… JSON-serialisable, never secrets. */
  figures: Record<string, unknown>;
  error: { code: string; message: string } | null;
}

export interface StartRun {
  kind: RunKind;
  subject?: string | null;
  actor?: string | null;
  figures?: Record<string, unknown>;
  /** Defaults to now. */
  startedAt?: Date;
}

export interface FinishRun {
  status: Exclude<RunStatus, 'running'>;
  figures?: Record<string, unknown>;
  error?: { code: string; message: string } | null;
  finishedAt?: Date;
}

export interface RunQuery {
  kind?: RunKind | RunKind[];
  subject?: string;
  status?: RunStatus | RunStatus[];
  since?: Date;
  until?: Date;
  /** Newest first; default 100. */
  limit?: number;
}

export interface Catalog {
  /** Records the start of a run and returns its id. */
  startRun(run: StartRun): Promise<string>;
  /**
   * Records the end of a run; figures are merged into those given at start. Idempotent: the first
   * finish wins, except over a settled orphan (the run's own outcome beats an inference).
   */
  finishRun(id: string, end: FinishRun): Promise<void>;
  /** Records a complete run (start and end) in one call, e.g. a killswitch change. */
  record(run: StartRun & FinishRun): Promise<string>;
  /** Runs matching the query, newest first. */
  listRuns(query?: RunQuery): Promise<RunRecord[]>;
  /** The newest run matching the query, or undefined. */
  lastRun(query: RunQuery): Promise<RunRecord | undefined>;
  /**
   * Marks as interrupted (error REPRISE_PROCESS_LOST, end time unknown) the running runs of this
   * host whose process has ended without recording an outcome: kill -9, a crash, a reboot.
   * `ended` decides that (default: the process is gone, or its pid was reused); runs of other
   * hosts are left alone, since their processes cannot be seen from here. Returns how many were
   * settled. Idempotent.
   */
  settleOrphans(ended?: (process: ProcessIdentity) => boolean): Promise<number>;
  /**
   * Runs `fn` holding a cluster-wide lock named `name` (so a scheduled job runs once across
   * agents). Returns undefined without running `fn` when another holder has it.
   */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T | undefined>;
  close(): Promise<void>;
}
