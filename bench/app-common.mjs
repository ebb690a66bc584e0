// Helpers shared by the app, gate and killswitch benches: child servers, autocannon, peak memory.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(ROOT, 'dist');

/** Runs ES module `code` in a child node; resolves once it prints `listening PORT`. */
export function startChild(code, env = {}) {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, DIST, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening (\d+)/.exec(out);
      if (match) resolve({ proc, port: Number(match[1]), stdout: () => out });
    });
    proc.once('exit', (code) => reject(new Error(`child exited ${code}: ${out}`)));
  });
}

/** Peak resident memory of a process, in MiB (VmHWM). */
export function peakRssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

export function stop(child) {
  return new Promise((resolve) => {
    if (child.proc.exitCode !== null) return resolve();
    child.proc.once('exit', resolve);
    child.proc.kill('SIGKILL');
  });
}

/** autocannon against url; resolves {rps, p50, p99} (latency in ms). */
export async function load(url, { connections = 50, duration = 5, pipelining = 1 } = {}) {
  const result = await autocannon({ url, connections, duration, pipelining });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

export const fmt = (n, digits = 2) => Number(n).toFixed(digits);

/** Prints `<label>: reprise <a> vs <baseline> <b> = ratio×`. */
export function ratio(label, ours, baselineName, theirs, unit = '') {
  const r = ours / theirs;
  console.log(`${label}: reprise ${fmt(ours)}${unit} vs ${baselineName} ${fmt(theirs)}${unit} = ${fmt(r, 3)}×`);
  return r;
}
