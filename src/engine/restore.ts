import { RepriseError } from '../core/errors.js';
import type { PartEntry, RepositoryHandle } from '../repo/api.js';
import type { RestorePart } from '../sources/source.js';
import { backupSource } from './backup.js';
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
        const result = await source.restore(restoreParts(repo, entries, signal, onBytes), {
          target: request.to,
          force: request.force,
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

/** Files up to this size are read ahead whole, several at once, while earlier ones are written. */
const PREFETCH_FILE_MAX = 1 << 20;
/** Bounds of the read-ahead: bytes held and parts in the window. */
const PREFETCH_BYTES = 32 << 20;
const PREFETCH_PARTS = 64;

interface Pending {
  entry: PartEntry;
  /** Whole content of a small file being read ahead (chunks verified), else undefined. */
  prefetched?: Promise<Uint8Array[]>;
}

/**
 * The snapshot's parts as the source's restore reads them, content verified chunk by chunk.
 * Small files are read ahead (bounded window) so that many small reads overlap with writing;
 * large files stream. A read error surfaces when its part is consumed, in order.
 */
async function* restoreParts(
  repo: RepositoryHandle,
  entries: PartEntry[],
  signal: AbortSignal,
  onBytes: (n: number) => void,
): AsyncIterable<RestorePart> {
  const window: Pending[] = [];
  let windowBytes = 0;
  let next = 0;
  const fill = (): void => {
    while (next < entries.length && window.length < PREFETCH_PARTS) {
      const entry = entries[next] as PartEntry;
      const small = entry.type === 'file' && entry.size <= PREFETCH_FILE_MAX;
      if (small && window.length > 0 && windowBytes + entry.size > PREFETCH_BYTES) return;
      next++;
      if (small) {
        windowBytes += entry.size;
        const prefetched = collect(repo.readPart(entry, signal));
        prefetched.catch(() => undefined); // rethrown when the part is consumed
        window.push({ entry, prefetched });
      } else {
        window.push({ entry });
      }
    }
  };
  fill();
  while (window.length > 0) {
    const { entry, prefetched } = window.shift() as Pending;
    const { chunks: _chunks, sha256: _sha, ...meta } = entry;
    if (entry.type !== 'file') {
      fill();
      yield meta;
      continue;
    }
    const content = prefetched
      ? () => counted(replay(prefetched), onBytes)
      : () => counted(repo.readPart(entry, signal), onBytes);
    if (prefetched) {
      // Wait for this file before refilling, so the window's byte budget really bounds memory.
      await prefetched.catch(() => undefined);
      windowBytes -= entry.size;
    }
    fill();
    yield { ...meta, content };
  }
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

async function* replay(chunks: Promise<Uint8Array[]>): AsyncIterable<Uint8Array> {
  yield* await chunks;
}

async function* counted(stream: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncIterable<Uint8Array> {
  for await (const chunk of stream) {
    onBytes(chunk.length);
    yield chunk;
  }
}
