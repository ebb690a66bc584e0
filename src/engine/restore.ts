import { RepriseError } from '../core/errors.js';
import type { PartEntry, RepositoryHandle } from '../repo/api.js';
import type { RestorePart } from '../sources/source.js';
import { backupSource } from './backup.js';
import { LaneSchedule } from './lane-schedule.js';
import { withRepoLock } from './lock.js';
import type { Runtime } from './runtime.js';
import { SAFETY_TAG, selectSnapshot } from './select.js';
import { tracked } from './tracked.js';

export interface RestoreRequest {
  source: string;
  /** `latest` or an id (prefix). */
  snapshot: string;
  /** Path or URL to restore into. */
  to: string;
  force: boolean;
  /** Flush the restored data to stable storage before reporting success. */
  sync?: boolean;
}

export interface RestoreOutcome {
  source: string;
  snapshot: string;
  snapshotTime: string;
  target: string;
  parts: number;
  bytes: number;
  /** The snapshot taken of the target before it was overwritten (with --force on a non-empty target). */
  safetySnapshot: string | null;
  durationMs: number;
}

/**
 * Restores a snapshot of a source into `to`. A non-empty target is refused without `force`
 * (REPRISE_TARGET_NOT_EMPTY); with `force`, a safety snapshot of it is taken first and named in
 * the result. Every chunk is verified as it is read (REPRISE_INTEGRITY stops the restore).
 * Records the run in the catalog.
 */
export async function restoreSnapshot(runtime: Runtime, request: RestoreRequest): Promise<RestoreOutcome> {
  const source = await runtime.source(request.source);
  return tracked(
    runtime,
    { kind: 'restore', subject: request.source },
    async () => {
      const started = performance.now();
      const repo = await runtime.openRepository();
      return withRepoLock(repo, 'shared', runtime.signal, async (signal) => {
        const snapshot = await selectSnapshot(repo, request.source, request.snapshot, signal);
        const state = await source.probeTarget(request.to, signal);
        let safetySnapshot: string | null = null;
        if (!state.empty) {
          if (!request.force) {
            throw new RepriseError('REPRISE_TARGET_NOT_EMPTY', `restore target ${state.location} is not empty`, {
              hint: 'Restore into a new target, or pass --force: a safety snapshot of the target is taken first.',
            });
          }
          runtime.emit({ type: 'phase', subject: request.source, phase: 'safety snapshot' });
          const safety = await backupSource(runtime, request.source, {
            sourceOverride: source.forTarget(request.to),
            tags: [SAFETY_TAG],
            skipCopies: true,
          });
          safetySnapshot = safety.snapshot;
        }
        runtime.emit({ type: 'phase', subject: request.source, phase: 'restore' });
        const entries = await snapshot.loadParts(signal);
        let bytes = 0;
        const total = entries.reduce((sum, e) => sum + e.size, 0);
        const onBytes = (n: number): void => {
          bytes += n;
          runtime.emit({ type: 'progress', subject: request.source, phase: 'restore', done: bytes, total, unit: 'bytes' });
        };
        const result = await source.restore(restoreParts(repo, entries, signal, onBytes, source.restoresInAnyOrder === true), {
          target: request.to,
          force: request.force,
          sync: request.sync ?? false,
          info: snapshot.info,
          signal,
        });
        return {
          source: request.source,
          snapshot: snapshot.id,
          snapshotTime: snapshot.time,
          target: result.location,
          parts: result.parts,
          bytes: result.bytes,
          safetySnapshot,
          durationMs: Math.round(performance.now() - started),
        };
      });
    },
    (r) => ({ snapshot: r.snapshot, target: r.target, bytes: r.bytes, safetySnapshot: r.safetySnapshot }),
  );
}

/** Work a file costs a writer lane beyond its bytes (creating it, setting its metadata), in bytes. */
const FILE_COST_BYTES = 64 << 10;

/**
 * The snapshot's parts as the source's restore reads them. A file's content comes either as a
 * stream verified chunk by chunk (`content`), or written straight into a new file by a worker
 * thread (`writeFile`), which lets the source restore many files at once. With `anyOrder`
 * (Source.restoresInAnyOrder), directories and links come first, in snapshot order, then files
 * in the order a LaneSchedule gives, each written by the lane it names, so that the lanes work
 * in different directories; otherwise parts come in snapshot order, to the least busy lane.
 */
async function* restoreParts(
  repo: RepositoryHandle,
  entries: PartEntry[],
  signal: AbortSignal,
  onBytes: (n: number) => void,
  anyOrder: boolean,
): AsyncIterable<RestorePart> {
  const strip = ({ chunks: _chunks, sha256: _sha, crc32: _crc, ...meta }: PartEntry) => meta;
  const file = (entry: PartEntry, lane?: number, done?: () => void): RestorePart => ({
    ...strip(entry),
    content: () => counted(repo.readPart(entry, signal), onBytes),
    writeFile: async (target) => {
      const written = await repo.writePartFile(entry, target, signal, lane).finally(done);
      onBytes(written);
      return written;
    },
  });
  if (!anyOrder) {
    for (const entry of entries) yield entry.type === 'file' ? file(entry) : strip(entry);
    return;
  }
  for (const entry of entries) if (entry.type !== 'file') yield strip(entry);
  const files = new LaneSchedule(
    entries.filter((e) => e.type === 'file'),
    repo.writerLanes,
    (e) => e.size + FILE_COST_BYTES,
  );
  for (let next = files.next(); next; next = files.next()) {
    const { item, lane, index } = next;
    yield file(item, lane, () => files.done(lane, index));
  }
}

async function* counted(stream: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncIterable<Uint8Array> {
  for await (const chunk of stream) {
    onBytes(chunk.length);
    yield chunk;
  }
}
