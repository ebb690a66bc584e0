import type { SnapshotSummary } from '../repo/api.js';
import type { Runtime } from './runtime.js';
import { snapshotsOf } from './select.js';

export interface SnapshotRow {
  id: string;
  source: string;
  sourceKind: string;
  time: string;
  host: string;
  tags: string[];
  parts: number;
  /** Raw bytes. */
  size: number;
  /** Stored bytes this snapshot added. */
  added: number;
  parent: string | null;
}

/** Snapshots in the repository, newest first, safety snapshots included (tagged). Reads only. */
export async function listSnapshots(runtime: Runtime, source?: string): Promise<SnapshotRow[]> {
  if (source !== undefined) runtime.sourceConfig(source);
  const repo = await runtime.openRepository();
  return (await snapshotsOf(repo, source, { includeSafety: true, signal: runtime.signal })).map(toRow);
}

function toRow(s: SnapshotSummary): SnapshotRow {
  return {
    id: s.id,
    source: s.source,
    sourceKind: s.sourceKind,
    time: s.time,
    host: s.host,
    tags: s.tags,
    parts: s.parts,
    size: s.size,
    added: s.added,
    parent: s.parent ?? null,
  };
}
