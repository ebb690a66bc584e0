import { spawn } from 'node:child_process';
import { uptime } from 'node:os';
import { describe, expect, it } from 'vitest';
import { currentProcess, hasEnded } from './process-identity.js';

function child(script: string): { pid: number; exited: Promise<void>; kill(): void } {
  const proc = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  return { pid: proc.pid!, exited: new Promise((resolve) => proc.on('exit', () => resolve())), kill: () => proc.kill('SIGKILL') };
}

describe('process identity', () => {
  it('knows this process: pid, pid namespace and a start time within this process’s life', () => {
    const me = currentProcess();
    expect(me.pid).toBe(process.pid);
    expect(me.namespace).toMatch(/^pid:\[\d+\]$/);
    const startedAbout = Date.now() - process.uptime() * 1000;
    expect(Math.abs(me.startMs! - startedAbout)).toBeLessThan(3_000);
    expect(me.startMs!).toBeGreaterThan(Date.now() - uptime() * 1000 - 2_000);
    expect(hasEnded(me)).toBe(false);
  });

  it('a live process has not ended; once killed it has', async () => {
    const proc = child('setInterval(() => {}, 1000)');
    const me = currentProcess();
    // The child's start time is not known to us directly: a time close to now stands for it.
    const identity = { pid: proc.pid, namespace: me.namespace, startMs: Date.now() };
    expect(hasEnded(identity)).toBe(false);
    expect(hasEnded({ ...identity, startMs: null })).toBe(false);
    proc.kill();
    await proc.exited;
    // Reaped by node on exit: the pid is gone.
    expect(hasEnded(identity)).toBe(true);
    expect(hasEnded({ ...identity, startMs: null })).toBe(true);
  });

  it('a pid now held by a later process counts as ended (pid reuse, e.g. pid 1 in a new container)', () => {
    const me = currentProcess();
    expect(hasEnded({ ...me, startMs: me.startMs! - 3_600_000 })).toBe(true);
    expect(hasEnded({ ...me, startMs: me.startMs! + 1_000 })).toBe(false);
  });

  it('a process of another pid namespace is never judged from here', async () => {
    const proc = child('');
    await proc.exited;
    expect(hasEnded({ pid: proc.pid, namespace: 'pid:[1]', startMs: null })).toBe(false);
  });
});
