import type { CheckOptions, CheckReport } from './api.js';
import { packProblems, type PackVerification } from './compress.js';
import { listAll, mapLimit, throwIfAborted, storageFailure, type RepoContext } from './context.js';
import { PREFIX_DATA, packKey } from './format.js';
import { listKeyFiles } from './keys.js';
import { scanPartList, type PartListCache } from './part-list-scan.js';
import { listSnapshotIds, readSnapshotFile } from './snapshot-store.js';
import type { PackRecord } from './index-store.js';

/** Packs downloaded and verified at once: one per worker plus one being read (measured best here). */
const CHECK_PACKS_IN_FLIGHT = 3;
/** Local packs queued per worker, which reads them itself: one running, one ready to start. */
const LOCAL_PACKS_PER_WORKER = 2;

/** What verifying one pack found, and its size. */
type VerifiedPack = PackVerification & { size: number };

/**
 * Verification of a local repository's packs, started in the workers as soon as the keys are
 * known (Repository.open with `verifyAhead`), while this thread loads the index, takes the lock
 * and lists what the check needs: that left one of the two cores idle for ~0.15 s of a 1.7 s
 * check. Packs are immutable once stored (written under a temporary name, then renamed), so a
 * verdict reached before the lock holds for the pack found under it; a pack gone by then is
 * reported missing as usual, one stored since is verified then, and the verdicts on packs no
 * index lists (left by an interrupted backup) are dropped. The header is compared with the index
 * once that is loaded (headerMismatch).
 */
export class PackReadAhead {
  /** Pack id → its verdict, in the order of the listing (the order they are verified in). */
  private readonly verdicts = new Map<string, Promise<VerifiedPack | undefined>>();
  private stopped = false;
  private readonly listed: Promise<void>;

  private constructor(ctx: RepoContext, signal: AbortSignal | undefined) {
    ctx.pool.startAll();
    this.listed = this.start(ctx, signal);
  }

  /** Starts verifying the packs of a local backend; undefined for others, whose packs are read after the lock. */
  static start(ctx: RepoContext, signal?: AbortSignal): PackReadAhead | undefined {
    return ctx.backend.localFile === undefined ? undefined : new PackReadAhead(ctx, signal);
  }

  private async start(ctx: RepoContext, signal: AbortSignal | undefined): Promise<void> {
    let keys: string[];
    try {
      keys = [...(await listAll(ctx.backend, PREFIX_DATA, signal)).keys()];
    } catch {
      return; // the check lists again under the lock, and reports the failure
    }
    const lanes = new Map<string, (verdict: Promise<VerifiedPack | undefined>) => void>();
    for (const key of keys) {
      const id = key.slice(key.lastIndexOf('/') + 1);
      if (key !== packKey(id)) continue;
      const verdict = new Promise<VerifiedPack | undefined>((resolve) => lanes.set(id, resolve));
      // Nobody may ask for this verdict (an unindexed pack, a check stopped early): never unhandled.
      verdict.catch(() => {});
      this.verdicts.set(id, verdict);
    }
    const file = (id: string): string | undefined => ctx.backend.localFile?.(packKey(id));
    void mapLimit([...lanes], ctx.pool.threads * LOCAL_PACKS_PER_WORKER, async ([id, settle]) => {
      const path = file(id);
      const verdict = this.stopped || signal?.aborted || path === undefined ? Promise.resolve(undefined) : ctx.pool.verifyPackFile(path);
      settle(verdict);
      await verdict.catch(() => {});
    });
  }

  /**
   * The verdict on pack `id`: undefined when it was not listed at the start or its file could not
   * be read (the check then verifies it as it does without read-ahead). Throws REPRISE_ABORTED
   * when the workers were stopped.
   */
  async verdict(id: string): Promise<VerifiedPack | undefined> {
    await this.listed;
    return this.verdicts.get(id);
  }

  /** The packs listed at the start, in the order they are verified. */
  async listedIds(): Promise<string[]> {
    await this.listed;
    return [...this.verdicts.keys()];
  }

  /** Verifies no more packs (those under way finish). Idempotent. */
  stop(): void {
    this.stopped = true;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Checks the repository: key files parse, every index names packs that exist with the right
 * size, every snapshot's part list and chunks are indexed; with `readData`, reads packs (all,
 * or a random percentage) and verifies their header and every blob, that these cover each pack
 * exactly, and that the header holds what the index lists. Packs no index lists (left by an
 * interrupted backup) are not errors. Throws only REPRISE_ABORTED and
 * storage failures of listings; everything else is reported. Idempotent.
 */
export async function checkRepository(ctx: RepoContext, options: CheckOptions = {}, readAhead?: PackReadAhead): Promise<CheckReport> {
  const { signal, readData } = options;
  const errors: string[] = [];
  const damaged = new Set<string>();
  const affected = new Set<string>();
  const readingData = readData !== undefined && readData !== false;
  // The workers start (~30 ms) while the listings load.
  if (readingData) ctx.pool.startAll();
  // The index was loaded (every file authenticated and parsed) when the repository was opened; a
  // refresh under the lock reads only what changed since (all of it again if a file went away).
  // Files the open read from the local cache are read again from storage: they are what is checked.
  if (ctx.cache.active) await ctx.index.load(ctx.backend, ctx.keys.encKey, signal, { fromStorage: true });
  else await ctx.index.refresh(ctx.backend, ctx.keys.encKey, signal);

  try {
    await listKeyFiles(ctx.backend, '');
  } catch (err) {
    errors.push(`keys: ${message(err)}`);
  }

  const stored = await listAll(ctx.backend, PREFIX_DATA, signal);
  for (const pack of ctx.index.packs.values()) {
    const size = stored.get(packKey(pack.id));
    if (size === undefined) {
      errors.push(`pack ${pack.id} is listed in the index but missing from storage`);
      damaged.add(pack.id);
    } else if (size !== pack.size) {
      errors.push(`pack ${pack.id} has ${size} bytes, the index says ${pack.size}`);
      damaged.add(pack.id);
    }
  }

  // Packs are read while the snapshots are checked: they need only the index, and the workers
  // would otherwise wait for the part lists to be loaded and decoded on this thread. A failed
  // snapshot listing stops the reading (it is what the check throws).
  const stopReading = new AbortController();
  const abort = (): void => stopReading.abort(signal?.reason);
  signal?.addEventListener('abort', abort, { once: true });
  let snapshotPacks: Map<string, Set<string>>;
  let read: { packsChecked: number; bytesChecked: number };
  try {
    [snapshotPacks, read] = await settleBoth(
      checkSnapshots(ctx, errors, affected, signal).catch((err: unknown) => {
        stopReading.abort(err);
        throw err;
      }),
      readingData
        ? verifyPacks(ctx, choosePacks(ctx, stored, readData), errors, damaged, { ...options, signal: stopReading.signal }, readData === true ? readAhead : undefined)
        : Promise.resolve({ packsChecked: 0, bytesChecked: 0 }),
    );
  } finally {
    signal?.removeEventListener('abort', abort);
    readAhead?.stop();
  }

  for (const [id, packs] of snapshotPacks) for (const pack of packs) if (damaged.has(pack)) affected.add(id);
  return {
    ok: errors.length === 0,
    ...read,
    damagedPacks: [...damaged].sort(),
    affectedSnapshots: [...affected].sort(),
    errors,
  };
}

/** Awaits both, even when one fails (nothing is left running), then throws the first failure. */
async function settleBoth<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

/**
 * Checks that each snapshot's part list reads back and that every chunk it names is indexed;
 * records problems in `errors` and `affected`. Returns the pack ids each snapshot depends on, to
 * name the snapshots a damaged pack affects. Throws REPRISE_ABORTED and listing failures.
 */
async function checkSnapshots(ctx: RepoContext, errors: string[], affected: Set<string>, signal: AbortSignal | undefined): Promise<Map<string, Set<string>>> {
  const snapshotPacks = new Map<string, Set<string>>();
  const partLists: PartListCache = new Map();
  for (const id of await listSnapshotIds(ctx.backend, signal)) {
    throwIfAborted(signal);
    const packs = new Set<string>();
    snapshotPacks.set(id, packs);
    try {
      const { file } = await readSnapshotFile(ctx.backend, ctx.keys.encKey, id, signal);
      const missing = (chunk: string): boolean => {
        const loc = ctx.index.chunks.get(chunk);
        if (loc) packs.add(loc.pack);
        return !loc;
      };
      const missingTree = file.tree.chunks.filter(missing);
      if (missingTree.length > 0) throw new Error(`${missingTree.length} part-list chunks are not in the index`);
      const scan = await scanPartList(ctx, file.tree.chunks, partLists, signal);
      for (const pack of scan.packs) packs.add(pack);
      if (scan.absent > 0) throw new Error(`${scan.absent} chunks are not in the index`);
    } catch (err) {
      throwIfAborted(signal);
      errors.push(`snapshot ${id}: ${message(err)}`);
      affected.add(id);
    }
  }
  return snapshotPacks;
}

/** The indexed packs that are stored: all of them, or a random `readData` percent. */
function choosePacks(ctx: RepoContext, stored: Map<string, number>, readData: true | number): PackRecord[] {
  const packs = [...ctx.index.packs.values()].filter((p) => stored.has(packKey(p.id)));
  if (readData === true) return packs;
  const want = Math.ceil((packs.length * Math.max(0, Math.min(100, readData))) / 100);
  return packs
    .map((p) => ({ p, r: Math.random() }))
    .sort((a, b) => a.r - b.r)
    .slice(0, want)
    .map((x) => x.p);
}

/**
 * Reads and verifies `packs` in the workers (header, every blob, coverage, agreement with the
 * index); records problems in `errors` and `damaged`. Local packs are read by the workers
 * themselves (or were, by `readAhead`), others through the backend on this thread. Throws
 * REPRISE_ABORTED.
 */
async function verifyPacks(
  ctx: RepoContext,
  chosen: PackRecord[],
  errors: string[],
  damaged: Set<string>,
  options: CheckOptions,
  readAhead: PackReadAhead | undefined,
): Promise<{ packsChecked: number; bytesChecked: number }> {
  const { signal } = options;
  let packsChecked = 0;
  let bytesChecked = 0;
  // Waiting for the read-ahead's verdicts in the order it reaches them.
  let packs = chosen;
  if (readAhead) {
    const rank = new Map((await readAhead.listedIds()).map((id, i) => [id, i]));
    packs = [...chosen].sort((a, b) => (rank.get(a.id) ?? rank.size) - (rank.get(b.id) ?? rank.size));
  }
  const local = (id: string): string | undefined => ctx.backend.localFile?.(packKey(id));
  const inFlight = packs.length > 0 && local((packs[0] as PackRecord).id) !== undefined ? ctx.pool.threads * LOCAL_PACKS_PER_WORKER : CHECK_PACKS_IN_FLIGHT;
  await mapLimit(packs, inFlight, async (pack) => {
    throwIfAborted(signal);
    const file = local(pack.id);
    let result = await readAhead?.verdict(pack.id);
    if (result === undefined && file !== undefined) result = await ctx.pool.verifyPackFile(file);
    if (result === undefined) {
      // Not a local file, or one the worker could not read: the backend reads it, and names a failure.
      let bytes: Uint8Array;
      try {
        bytes = await ctx.backend.get(packKey(pack.id), undefined, signal);
      } catch (err) {
        throwIfAborted(signal);
        errors.push(`pack ${pack.id}: ${storageFailure(err, 'read').message}`);
        damaged.add(pack.id);
        return;
      }
      const size = bytes.length;
      result = { ...(await ctx.pool.verifyPack(bytes)), size };
    }
    packsChecked++;
    bytesChecked += result.size;
    const problems = packProblems(pack.entries, result);
    if (problems.length > 0) {
      damaged.add(pack.id);
      for (const problem of problems) errors.push(`pack ${pack.id}: ${problem}`);
    }
    options.onProgress?.(packsChecked, packs.length);
  });
  return { packsChecked, bytesChecked };
}
