// Listing snapshots of a repository on S3, and a backup (which reads every snapshot to find its
// parent), with the local cache of snapshot files (REPRISE_CACHE_DIR, warm) against the same
// commands without it (REPRISE_CACHE_DIR=off: one GET per snapshot file, as before the cache).
// The S3 server is s3rver on 127.0.0.1, answering at once and then with 20 ms added to each
// request (a nearby cloud region). Prints ratios from one run (medians of REPEAT alternating runs) and peak RSS.
// Env: SNAPSHOTS (default 300), REPEAT (default 3), LATENCIES (default "0,20").
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT, fmt, ratio, reprise } from './lib.mjs';

const SNAPSHOTS = Number(process.env.SNAPSHOTS ?? 300);
const REPEAT = Number(process.env.REPEAT ?? 3);
const LATENCIES = (process.env.LATENCIES ?? '0,20').split(',').map(Number);
const { Repository } = await import(path.join(ROOT, 'dist/repo/repository.js'));
const { S3Backend } = await import(path.join(ROOT, 'dist/storage/s3/index.js'));

async function startS3(dir, bucket, latencyMs) {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', path.join(ROOT, 'test/helpers/s3rver-process.cjs'), dir, bucket, '1', String(latencyMs)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`s3rver exited ${code}`)));
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line).port));
  });
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function benchAt(latencyMs) {
  const work = mkdtempSync(path.join(tmpdir(), 'reprise-bench-snaps3-'));
  const bucket = `bench-${randomBytes(4).toString('hex')}`;
  const s3 = await startS3(path.join(work, 's3'), bucket, latencyMs);
  try {
    mkdirSync(path.join(work, 'data'));
    for (let i = 0; i < 20; i++) writeFileSync(path.join(work, 'data', `f${i}.txt`), `file ${i}\n`.repeat(100));
    const s3Lines = `  url: s3://${bucket}/repo\n  endpoint: ${s3.endpoint}\n  region: us-east-1\n  access_key_id: S3RVER\n  secret_access_key: S3RVER\n`;
    writeFileSync(
      path.join(work, 'reprise.yaml'),
      `version: 1\nrepository:\n${s3Lines}  password: bench-password\ncatalog: ./catalog.db\nsources:\n  site: { type: files, path: ./data }\n`,
    );
    await reprise(['init'], { cwd: work });
    // The history: SNAPSHOTS small snapshots, written through the library (a CLI backup each would take minutes).
    const backend = new S3Backend({ bucket, prefix: 'repo', endpoint: s3.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const repo = await Repository.open({ backend, password: 'bench-password' });
    for (let i = 0; i < SNAPSHOTS; i++) {
      const writer = repo.newWriter({ signal: new AbortController().signal });
      await writer.addPart({ name: 'f0.txt', type: 'file', mode: 0o644 }, (async function* () { yield Buffer.from(`version ${i}\n`); })());
      await writer.commit({ source: 'site', sourceKind: 'files', tags: [], info: { kind: 'files', location: 'bench', versions: {}, facts: {} } });
    }
    await repo.close();
    await backend.close();

    const cached = { REPRISE_CACHE_DIR: path.join(work, 'cache') };
    const uncached = { REPRISE_CACHE_DIR: 'off' };
    await reprise(['snapshots', '--json'], { cwd: work, env: cached }); // warms the cache
    const runs = { snapshots: { cached: [], uncached: [] }, backup: { cached: [], uncached: [] } };
    let peak = 0;
    for (let r = 0; r < REPEAT; r++) {
      for (const [name, args] of [['snapshots', ['snapshots', '--json']], ['backup', ['backup', 'site', '--json']]]) {
        const order = r % 2 === 0 ? ['cached', 'uncached'] : ['uncached', 'cached'];
        for (const mode of order) {
          const run = await reprise(args, { cwd: work, env: mode === 'cached' ? cached : uncached });
          runs[name][mode].push(run.seconds);
          peak = Math.max(peak, run.peakRssMiB);
        }
      }
    }
    console.log(`## ${SNAPSHOTS}+ snapshots on s3rver, ${latencyMs} ms added per request`);
    ratio(`snapshots --json (${latencyMs} ms)`, median(runs.snapshots.cached), 'without the cache', median(runs.snapshots.uncached), ' s');
    ratio(`backup, 20 small files (${latencyMs} ms)`, median(runs.backup.cached), 'without the cache', median(runs.backup.uncached), ' s');
    console.log(`peak RSS: ${fmt(peak, 0)} MiB`);
  } finally {
    s3.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

for (const latency of LATENCIES) await benchAt(latency);
