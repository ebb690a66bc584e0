import { readFileSync, readlinkSync } from 'node:fs';

/**
 * Who a process is, precisely enough to tell later whether it still runs: a pid alone is reused
 * (in a container every run may be pid 1), so Linux adds the pid namespace and the start time.
 */
export interface ProcessIdentity {
  pid: number;
  /** The pid namespace (`pid:[4026531836]`); null where /proc does not tell. */
  namespace: string | null;
  /** When the process started, ms since the epoch (10 ms resolution); null where /proc does not tell. */
  startMs: number | null;
}

// Linux reports process start times in clock ticks; USER_HZ is 100 on every architecture it runs on.
const TICKS_PER_SECOND = 100;
/** Boot time can move by a second when the clock is adjusted; a reused pid starts later than that. */
const START_TOLERANCE_MS = 2_000;

let bootMs: number | null | undefined;

/** Boot time from /proc/stat, read once; null off Linux. */
function bootTimeMs(): number | null {
  if (bootMs !== undefined) return bootMs;
  try {
    const line = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'));
    bootMs = line ? Number(line[1]) * 1000 : null;
  } catch {
    bootMs = null;
  }
  return bootMs;
}

/** Start time of `pid` in ms since the epoch, or null when it has no /proc entry (gone, or not Linux). */
function startMsOf(pid: number | 'self'): number | null {
  const boot = bootTimeMs();
  if (boot === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22, starttime
    return Number.isFinite(ticks) ? boot + (ticks * 1000) / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

function namespaceOf(pid: number | 'self'): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

let self: ProcessIdentity | undefined;

/** This process's identity, computed once. Never throws. */
export function currentProcess(): ProcessIdentity {
  self ??= { pid: process.pid, namespace: namespaceOf('self'), startMs: startMsOf('self') };
  return self;
}

/**
 * Whether this process can see `other` and knows it has ended: its pid no longer exists, or now
 * belongs to a process that started later (the pid was reused). False when `other` lives in
 * another pid namespace (another container on a shared host name): it may well be running.
 * Never throws.
 */
export function hasEnded(other: ProcessIdentity): boolean {
  const me = currentProcess();
  if (other.namespace !== me.namespace) return false;
  if (!pidExists(other.pid)) return true;
  if (other.startMs === null) return false;
  const holderStartMs = other.pid === me.pid ? me.startMs : startMsOf(other.pid);
  return holderStartMs !== null && Math.abs(holderStartMs - other.startMs) > START_TOLERANCE_MS;
}

/** True when a process with this pid exists (EPERM: it does, under another user). Never throws. */
export function pidExists(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
