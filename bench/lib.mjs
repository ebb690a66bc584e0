// Shared helpers for the benchmarks: timed child processes with peak RSS, sizes, ratios.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(ROOT, 'dist/bin/reprise.js');

/**
 * Runs a command under GNU time; resolves {seconds, peakRssMiB, stdout}. Throws when it fails.
 * `shell: true` runs `cmd` through bash (for pipelines).
 */
export function timed(cmd, args, { env, cwd, shell = false } = {}) {
  return new Promise((resolve, reject) => {
    const argv = shell ? ['-f', '%e %M', 'bash', '-o', 'pipefail', '-c', cmd] : ['-f', '%e %M', cmd, ...args];
    const started = performance.now();
    const child = spawn('/usr/bin/time', argv, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const last = stderr.trim().split('\n').pop() ?? '';
      const [, rssKb] = last.split(' ').map(Number);
      if (code !== 0) reject(new Error(`${shell ? cmd : [cmd, ...args].join(' ')} exited ${code}\n${stderr.slice(-2000)}`));
      else resolve({ seconds, peakRssMiB: (rssKb ?? 0) / 1024, stdout });
    });
  });
}

/** Runs the built reprise CLI under GNU time, as its users do: through its shebang (and its runtime settings). */
export function reprise(args, options = {}) {
  return timed(CLI, args, options);
}

/** Total size of the files under dir. */
export function du(dir) {
  let total = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += statSync(p).size;
    }
  };
  walk(dir);
  return total;
}

export const MiB = 1024 * 1024;
export const fmt = (n, digits = 2) => Number(n).toFixed(digits);

/** Prints `reprise <a> vs <baseline> <b> = ratio` in the format every bench uses. */
export function ratio(label, ours, baselineName, theirs, unit) {
  const r = ours / theirs;
  console.log(`${label}: reprise ${fmt(ours)}${unit} vs ${baselineName} ${fmt(theirs)}${unit} = ${fmt(r, 3)}×`);
  return r;
}
