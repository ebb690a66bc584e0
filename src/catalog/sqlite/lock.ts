import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database } from 'better-sqlite3';
import { pidExists } from '../../core/process-identity.js';

interface LockRow {
  owner: string;
  host: string;
  pid: number;
  expires_at: number;
}

/** A held row in the `locks` table; refreshed on a timer until released. */
export interface HeldLock {
  release(): void;
}

/**
 * Takes the lock row `name` unless a live other holder has it. A holder is dead when its expiry
 * has passed, or, on this host, when its process no longer exists (so a crashed job does not
 * block the next run for a whole TTL). Never blocks beyond busy_timeout; throws the driver's
 * error when the database fails. Not idempotent: each call is a new holder.
 */
export function tryTakeLock(db: Database, name: string, ttlMs: number): HeldLock | undefined {
  const owner = randomUUID();
  const host = hostname();
  const take = db.transaction((now: number): boolean => {
    const row = db.prepare('SELECT owner, host, pid, expires_at FROM locks WHERE name = ?').get(name) as LockRow | undefined;
    if (row && row.expires_at > now && !(row.host === host && !pidExists(row.pid))) return false;
    db.prepare(
      `INSERT INTO locks (name, owner, host, pid, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, host = excluded.host, pid = excluded.pid,
         acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
    ).run(name, owner, host, process.pid, now, now + ttlMs);
    return true;
  });
  // IMMEDIATE: the read and the write must be one step, or two takers could both see it free.
  if (!take.immediate(Date.now())) return undefined;

  const refresh = db.prepare('UPDATE locks SET expires_at = ? WHERE name = ? AND owner = ?');
  const timer = setInterval(() => {
    try {
      refresh.run(Date.now() + ttlMs, name, owner);
    } catch {
      // A busy database now is retried on the next tick, well before the expiry.
    }
  }, Math.max(10, Math.floor(ttlMs / 3)));
  timer.unref();
  let released = false;
  return {
    release(): void {
      if (released) return;
      released = true;
      clearInterval(timer);
      if (db.open) db.prepare('DELETE FROM locks WHERE name = ? AND owner = ?').run(name, owner);
    },
  };
}
