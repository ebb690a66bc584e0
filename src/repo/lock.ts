import { RepriseError } from '../core/errors.js';
import { formatDuration } from '../core/units.js';
import type { Backend } from '../storage/backend.js';
import type { RepoLock } from './api.js';
import { randomHex, sealJson, unsealJson } from './crypto.js';
import { listAll, storageFailure, throwIfAborted } from './context.js';
import { LOCK_REFRESH_MS, LOCK_STALE_MS, PREFIX_LOCKS } from './format.js';

/** `locks/<id>` plaintext (sealed with the master key). Times in ms since the epoch. */
export interface LockFile {
  host: string;
  pid: number;
  mode: 'shared' | 'exclusive';
  created: number;
  refreshed: number;
}

export interface LockTiming {
  /** How often a held lock is rewritten. */
  refreshMs: number;
  /** A lock not refreshed for this long is stale (its holder presumed dead). */
  staleMs: number;
}

export const DEFAULT_LOCK_TIMING: LockTiming = { refreshMs: LOCK_REFRESH_MS, staleMs: LOCK_STALE_MS };

interface LockDeps {
  backend: Backend;
  encKey: Uint8Array;
  host: string;
  now: () => number;
  timing: LockTiming;
}

async function readLocks(deps: LockDeps, signal?: AbortSignal): Promise<{ id: string; lock: LockFile }[]> {
  const out: { id: string; lock: LockFile }[] = [];
  for (const key of (await listAll(deps.backend, PREFIX_LOCKS, signal)).keys()) {
    try {
      const bytes = await deps.backend.get(key, undefined, signal);
      out.push({ id: key.slice(PREFIX_LOCKS.length), lock: unsealJson<LockFile>(deps.encKey, bytes, key) });
    } catch {
      // Released while we listed, or unreadable: neither can be honoured nor removed safely here.
    }
  }
  return out;
}

/**
 * Takes a lock: writes our lock file first, then lists the others and backs off (removes ours)
 * on conflict, so two racing takers never both succeed. Throws REPRISE_REPO_LOCKED naming the
 * holder, REPRISE_STORAGE*, REPRISE_ABORTED. Not idempotent: each call is one more lock.
 */
export async function acquireLock(deps: LockDeps, mode: 'shared' | 'exclusive', signal?: AbortSignal): Promise<RepoLock> {
  throwIfAborted(signal);
  const id = randomHex(32);
  const key = `${PREFIX_LOCKS}${id}`;
  const created = deps.now();
  const file: LockFile = { host: deps.host, pid: process.pid, mode, created, refreshed: created };
  try {
    await deps.backend.put(key, sealJson(deps.encKey, file), { createOnly: true });
  } catch (err) {
    throw storageFailure(err, 'write lock');
  }
  let others: { id: string; lock: LockFile }[];
  try {
    others = (await readLocks(deps, signal)).filter((l) => l.id !== id);
  } catch (err) {
    await deps.backend.delete(key).catch(() => undefined);
    throw err;
  }
  const conflict = others.find((o) => mode === 'exclusive' || o.lock.mode === 'exclusive');
  if (conflict) {
    await deps.backend.delete(key).catch(() => undefined);
    const now = deps.now();
    const stale = now - conflict.lock.refreshed > deps.timing.staleMs;
    const { host, pid } = conflict.lock;
    throw new RepriseError(
      'REPRISE_REPO_LOCKED',
      `repository is locked ${conflict.lock.mode === 'exclusive' ? 'exclusively' : 'for backup'} by ${host} pid ${pid}, ` +
        `created ${formatDuration(now - conflict.lock.created)} ago${stale ? `, stale (not refreshed for ${formatDuration(now - conflict.lock.refreshed)})` : ''}`,
      {
        details: { host, pid, mode: conflict.lock.mode, ageMs: now - conflict.lock.created, stale, lockId: conflict.id },
        ...(stale ? { hint: 'The holder stopped refreshing its lock: if it is dead, `reprise unlock` removes stale locks.' } : {}),
      },
    );
  }
  return new HeldLock(deps, key, file);
}

class HeldLock implements RepoLock {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private lastRefresh: number;
  private released = false;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly deps: LockDeps,
    private readonly key: string,
    private readonly file: LockFile,
  ) {
    this.lastRefresh = file.refreshed;
    this.timer = setInterval(() => {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
    }, deps.timing.refreshMs);
    this.timer.unref();
  }

  get mode(): 'shared' | 'exclusive' {
    return this.file.mode;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private lose(reason: string): void {
    clearInterval(this.timer);
    this.controller.abort(new RepriseError('REPRISE_LOCK_LOST', `lock ${this.key} lost: ${reason}`));
  }

  /** Rewrites the lock; a lock removed by someone else (unlock of a "stale" lock) is lost, never re-created. */
  private async refresh(): Promise<void> {
    if (this.released || this.controller.signal.aborted) return;
    try {
      const present = await this.deps.backend.stat(this.key);
      if (!present) return this.lose('it was removed by another process');
      const refreshed = this.deps.now();
      await this.deps.backend.put(this.key, sealJson(this.deps.encKey, { ...this.file, refreshed }));
      this.lastRefresh = refreshed;
    } catch (err) {
      if (this.deps.now() - this.lastRefresh > this.deps.timing.staleMs) this.lose(`refresh failed for too long (${String(err)})`);
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    await this.refreshing;
    try {
      await this.deps.backend.delete(this.key);
    } catch (err) {
      throw storageFailure(err, 'remove lock');
    }
  }
}

/** Removes locks not refreshed within the stale time; returns how many. Throws REPRISE_STORAGE*. Idempotent. */
export async function removeStaleLocks(deps: LockDeps): Promise<number> {
  const now = deps.now();
  let removed = 0;
  for (const { id, lock } of await readLocks(deps)) {
    if (now - lock.refreshed > deps.timing.staleMs) {
      try {
        await deps.backend.delete(`${PREFIX_LOCKS}${id}`);
      } catch (err) {
        throw storageFailure(err, `remove lock ${id}`);
      }
      removed++;
    }
  }
  return removed;
}
