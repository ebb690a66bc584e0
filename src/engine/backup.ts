import { toRepriseError } from '../core/errors.js';
import { InflightWindow } from '../core/inflight.js';
import type { PartEntry, RepositoryHandle, SnapshotSummary } from '../repo/api.js';
import type { DumpPart, PartMeta, Source } from '../sources/source.js';
import { withRepoLock } from './lock.js';
import type { Runtime } from './runtime.js';
import { snapshotsOf } from './select.js';
import { tracked } from './tracked.js';

/** Local files read by workers at once, and their bytes: enough to keep every worker busy. */
const LOCAL_FILES_IN_FLIGHT = 64;
const LOCAL_BYTES_IN_FLIGHT = 8 << 20;

export interface BackupResult {
  source: string;
  snapshot: string;
  time: string;
  parts: number;
  files: number;
  /** Files whose content was taken from the parent snapshot without reading them. */
  filesUnchanged: number;
  bytesRead: number;
  /** Raw size of the snapshot. */
  size: number;
  /** Stored bytes added after dedup, compression and encryption. */
  bytesAdded: number;
  durationMs: number;
  /** Copy destinations the snapshot was also written to. */
  copies: string[];
  /** Copy destinations that failed: the snapshot is safe locally, the copy is retried by the next backup or `reprise copy`. */
  copyErrors: Array<{ copy: string; code: string; message: string }>;
}

export interface BackupOptions {
  /** Back up this source object instead of the configured one (safety snapshots of a restore target). */
  sourceOverride?: Source;
  tags?: string[];
  /** Skip the automatic copy to `copies:` (safety snapshots). */
  skipCopies?: boolean;
}

/**
 * Backs up one configured source into the repository, reusing unchanged files of the previous
 * snapshot, then copies the snapshot to every configured copy. Records the run in the catalog.
 * Throws RepriseError (source, repository, lock, storage); on failure no snapshot is written.
 */
export async function backupSource(runtime: Runtime, name: string, options: BackupOptions = {}): Promise<BackupResult> {
  const source = options.sourceOverride ?? (await runtime.source(name));
  return tracked(
    runtime,
    { kind: 'backup', subject: name },
    async () => {
      const started = performance.now();
      const repo = await runtime.openRepository();
      const summary = await withRepoLock(repo, 'shared', runtime.signal, (signal) =>
        writeSnapshot(runtime, repo, name, source, options, signal),
      );
      const copied = options.skipCopies ? { copies: [], copyErrors: [] } : await copyToAll(runtime, repo, summary.snapshot.id);
      return { ...summary.result, ...copied, durationMs: Math.round(performance.now() - started) };
    },
    (r) => ({ snapshot: r.snapshot, bytesRead: r.bytesRead, bytesAdded: r.bytesAdded, files: r.files, size: r.size }),
  );
}

async function writeSnapshot(
  runtime: Runtime,
  repo: RepositoryHandle,
  name: string,
  source: Source,
  options: BackupOptions,
  signal: AbortSignal,
): Promise<{ snapshot: SnapshotSummary; result: Omit<BackupResult, 'copies' | 'copyErrors' | 'durationMs'> }> {
  runtime.emit({ type: 'phase', subject: name, phase: 'inspect' });
  const info = await source.inspect(signal);
  const parent = options.sourceOverride ? undefined : (await snapshotsOf(repo, name, { signal }))[0];
  const previous = new Map<string, PartEntry>();
  if (parent) {
    for (const part of await (await repo.loadSnapshot(parent.id, signal)).loadParts(signal)) previous.set(part.name, part);
  }
  const config = runtime.config.sources[name];
  const writer = repo.newWriter({
    signal,
    ...(config?.chunk_size ? { chunker: { avgSize: config.chunk_size } } : {}),
    ...((config?.compression_level ?? source.compressionLevel) !== undefined ? { compressionLevel: config?.compression_level ?? source.compressionLevel } : {}),
    onProgress: (stats) =>
      runtime.emit({
        type: 'progress',
        subject: name,
        phase: 'backup',
        done: stats.bytesRead,
        ...(info.sizeBytes ? { total: info.sizeBytes } : {}),
        unit: 'bytes',
      }),
  });
  runtime.emit({ type: 'phase', subject: name, phase: 'backup' });
  let parts = 0;
  let files = 0;
  let filesUnchanged = 0;
  let size = 0;
  // Local files are read in worker threads, several at once; the window bounds the memory that takes.
  const reading = new InflightWindow(LOCAL_FILES_IN_FLIGHT, LOCAL_BYTES_IN_FLIGHT);
  try {
    for await (const part of source.dump(signal)) {
      signal.throwIfAborted();
      const meta = metaOf(part);
      const before = previous.get(part.name);
      parts++;
      if (part.type === 'file') files++;
      if (part.type === 'file' && part.changeKey !== undefined && before?.type === 'file' && before.changeKey === part.changeKey) {
        size += writer.reusePart(meta, before).size;
        filesUnchanged++;
      } else if (part.type === 'file' && part.localFile) {
        const job = writer.addLocalFile(meta, part.localFile).then((entry) => {
          size += entry.size;
        });
        await reading.add(job, part.size ?? 0);
      } else {
        size += (await writer.addPart(meta, part.type === 'file' ? part.open?.() : undefined)).size;
      }
    }
    await reading.drain();
    const snapshot = await writer.commit({
      source: name,
      sourceKind: source.kind,
      tags: [...(config?.tags ?? []), ...(options.tags ?? [])],
      info,
      ...(parent ? { parent: parent.id } : {}),
    });
    return {
      snapshot,
      result: {
        source: name,
        snapshot: snapshot.id,
        time: snapshot.time,
        parts,
        files,
        filesUnchanged,
        bytesRead: writer.stats.bytesRead,
        size,
        bytesAdded: writer.stats.bytesAdded,
      },
    };
  } catch (err) {
    await writer.abort();
    await reading.settle();
    throw err;
  }
}

/** The metadata of a dump part without its opener (what the manifest records). */
function metaOf(part: DumpPart): PartMeta {
  const { open: _open, localFile: _localFile, ...meta } = part;
  return meta;
}

/**
 * Copies one snapshot to every configured copy destination (creating it on first use). A failing
 * destination does not undo the backup: it is reported and the others still get their copy.
 */
async function copyToAll(
  runtime: Runtime,
  repo: RepositoryHandle,
  snapshotId: string,
): Promise<Pick<BackupResult, 'copies' | 'copyErrors'>> {
  const result: Pick<BackupResult, 'copies' | 'copyErrors'> = { copies: [], copyErrors: [] };
  for (const copy of runtime.config.copies) {
    runtime.emit({ type: 'phase', subject: copy.name, phase: 'copy' });
    try {
      const destination = await runtime.openCopy(copy.name, true);
      await withRepoLock(destination, 'shared', runtime.signal, (signal) => repo.copySnapshots(destination, [snapshotId], signal));
      result.copies.push(copy.name);
    } catch (err) {
      runtime.signal.throwIfAborted();
      const error = toRepriseError(err);
      runtime.emit({ type: 'warning', subject: copy.name, message: `copy failed: ${error.message}` });
      result.copyErrors.push({ copy: copy.name, code: error.code, message: error.message });
    }
  }
  return result;
}
