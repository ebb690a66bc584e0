import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { redactUrl } from '../config/redact.js';
import { currentProcess, hasEnded, type ProcessIdentity } from '../core/process-identity.js';
import type { FinishRun, RunKind, RunQuery, RunStatus, StartRun } from './catalog.js';
import { serializeFigures } from './figures.js';

/** The column values of one run, as both catalogs write them. */
export interface RunRow {
  id: string;
  kind: RunKind;
  subject: string | null;
  status: RunStatus;
  startedAt: Date;
  finishedAt: Date | null;
  host: string;
  actor: string | null;
  /** JSON text, already redacted. */
  figures: string;
  errorCode: string | null;
  errorMessage: string | null;
  /** The process that records the run, so a later one can tell it died (see settleOrphans). */
  pid: number;
  processNamespace: string | null;
  processStartedAt: Date | null;
}

/** The values a finishRun writes. */
export interface FinishValues {
  status: Exclude<RunStatus, 'running'>;
  finishedAt: Date;
  /** JSON text of the figures to merge in, already redacted. */
  figures: string;
  errorCode: string | null;
  errorMessage: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `id` has the shape of the ids catalogs hand out; never throws. */
export function isRunId(id: string): boolean {
  return UUID.test(id);
}

/** Row values for a run that starts now (or at `run.startedAt`). Throws TypeError on cyclic figures; not idempotent (new id). */
export function startRow(run: StartRun): RunRow {
  return {
    id: randomUUID(),
    kind: run.kind,
    subject: run.subject ?? null,
    status: 'running',
    startedAt: run.startedAt ?? new Date(),
    finishedAt: null,
    host: hostname(),
    actor: run.actor ?? null,
    figures: serializeFigures(run.figures),
    errorCode: null,
    errorMessage: null,
    ...recordingProcess(),
  };
}

function recordingProcess(): Pick<RunRow, 'pid' | 'processNamespace' | 'processStartedAt'> {
  const me = currentProcess();
  return { pid: me.pid, processNamespace: me.namespace, processStartedAt: me.startMs === null ? null : new Date(me.startMs) };
}

/** The error code of a run settled because its process ended without recording an outcome. */
export const PROCESS_LOST = 'REPRISE_PROCESS_LOST';

/**
 * The values that settle an orphaned run: interrupted, the end time unknown (left null), and an
 * error saying so. A later finishRun by the run's own process still wins over these. Pure.
 */
export function lostProcessValues(run: { pid: number; host: string }, noticedAt: Date): { status: 'interrupted'; errorCode: string; errorMessage: string } {
  return {
    status: 'interrupted',
    errorCode: PROCESS_LOST,
    errorMessage: `process ${run.pid} on ${run.host} ended without recording an outcome (killed, crashed or the machine stopped); noticed at ${noticedAt.toISOString()}`,
  };
}

/**
 * Row values for a complete run. A missing start time is the finish time (an instant event such
 * as a killswitch change). Throws TypeError on cyclic figures; not idempotent (new id).
 */
export function recordRow(run: StartRun & FinishRun): RunRow {
  const finishedAt = run.finishedAt ?? new Date();
  const end = finishValues(run);
  return {
    ...startRow({ ...run, startedAt: run.startedAt ?? finishedAt }),
    status: run.status,
    finishedAt,
    errorCode: end.errorCode,
    errorMessage: end.errorMessage,
  };
}

/** Values written by finishRun: error messages are redacted like figures, since tools echo URLs. Pure. */
export function finishValues(end: FinishRun): FinishValues {
  return {
    status: end.status,
    finishedAt: end.finishedAt ?? new Date(),
    figures: serializeFigures(end.figures),
    errorCode: end.error?.code ?? null,
    errorMessage: end.error ? redactUrl(end.error.message) : null,
  };
}

/** The columns settleOrphans reads of the running runs, in both catalogs. */
export const RUNNING_COLUMNS = 'id, host, pid, process_namespace, process_started_at';

/** A running run as both catalogs return RUNNING_COLUMNS. */
export interface RunningRow {
  id: string;
  host: string;
  /** Null for runs recorded before the catalog stored processes (schema 3): never settled. */
  pid: number | null;
  process_namespace: string | null;
  /** SQLite: ms since the epoch; PostgreSQL: a Date. */
  process_started_at: number | Date | null;
}

/** The runs among `running` whose process has ended, as `ended` decides. Pure but for `ended`. */
export function orphansAmong(running: readonly RunningRow[], ended: (process: ProcessIdentity) => boolean = hasEnded): Array<RunningRow & { pid: number }> {
  return running.filter(
    (run): run is RunningRow & { pid: number } =>
      run.pid !== null &&
      ended({ pid: run.pid, namespace: run.process_namespace, startMs: run.process_started_at === null ? null : Number(run.process_started_at) }),
  );
}

/** A query with defaults applied and arrays made uniform, so both catalogs filter identically. */
export interface NormalQuery {
  /** undefined = any kind; an empty array matches nothing. */
  kinds: RunKind[] | undefined;
  statuses: RunStatus[] | undefined;
  subject: string | undefined;
  /** Inclusive. */
  since: Date | undefined;
  /** Exclusive, so consecutive windows never count a run twice. */
  until: Date | undefined;
  limit: number;
}

/** Applies defaults (limit 100) to a query; a limit below 0 or not a number falls back to the default. Pure. */
export function normalQuery(query: RunQuery = {}): NormalQuery {
  const limit = query.limit !== undefined && Number.isFinite(query.limit) && query.limit >= 0 ? Math.floor(query.limit) : 100;
  return {
    kinds: query.kind === undefined ? undefined : Array.isArray(query.kind) ? query.kind : [query.kind],
    statuses: query.status === undefined ? undefined : Array.isArray(query.status) ? query.status : [query.status],
    subject: query.subject,
    since: query.since,
    until: query.until,
    limit,
  };
}

/** True when the query can match no run at all (an empty kind or status list, limit 0). Pure. */
export function matchesNothing(query: NormalQuery): boolean {
  return query.limit === 0 || query.kinds?.length === 0 || query.statuses?.length === 0;
}
