// Propagation: time from `killswitch enable` (the store write) to the last of 20 app instances
// having switched mode, for the Redis and PostgreSQL stores. Instances report the moment their
// in-memory mode changed (the next request is answered with it). Run after `npm run build`.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { fmt, peakRssMiB, ratio, DIST } from './app-common.mjs';

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 20);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 20);
const STORES = [
  ['redis', process.env.BENCH_REDIS ?? 'redis://127.0.0.1:6379/0'],
  ['postgres', process.env.BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres'],
];

const INSTANCE = `
const lib = await import(process.env.DIST + '/app/index.js');
const ks = lib.createKillswitch({ store: process.env.STORE, key: process.env.KEY });
await ks.ready;
ks.onChange((s) => console.log('change ' + s.mode + ' ' + (performance.timeOrigin + performance.now())));
console.log('ready');
`;

function startInstance(url, key) {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', INSTANCE], { env: { ...process.env, DIST, STORE: url, KEY: key }, stdio: ['ignore', 'pipe', 'inherit'] });
  const instance = { proc, changes: [], ready: null };
  instance.ready = new Promise((resolve) => {
    let buffer = '';
    proc.stdout.on('data', (chunk) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line === 'ready') resolve();
        const m = /^change (\S+) (\S+)$/.exec(line);
        if (m) instance.changes.push({ mode: m[1], at: Number(m[2]) });
      }
    });
  });
  return instance;
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

const { openModeStore, enableKillswitch, disableKillswitch } = await import(`${DIST}/killswitch/index.js`);
for (const [kind, url] of STORES) {
  const key = kind === 'redis' ? `reprise-bench:ks:${randomBytes(4).toString('hex')}` : `bench-${randomBytes(4).toString('hex')}`;
  const store = await openModeStore(url, process.cwd(), { key });
  const instances = Array.from({ length: INSTANCES }, () => startInstance(url, key));
  await Promise.all(instances.map((i) => i.ready));
  const samples = [];
  try {
    for (let trial = 0; trial < TRIALS; trial++) {
      const mode = trial % 2 === 0 ? 'maintenance' : 'off';
      for (const i of instances) i.changes = [];
      const t0 = performance.timeOrigin + performance.now();
      if (mode === 'off') await disableKillswitch(store, 'bench');
      else await enableKillswitch(store, { mode, reason: 'bench', by: 'bench' });
      const deadline = Date.now() + 5000;
      while (!instances.every((i) => i.changes.some((c) => c.mode === mode))) {
        if (Date.now() > deadline) throw new Error(`${kind}: not every instance switched to ${mode} within 5 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
      const last = Math.max(...instances.map((i) => i.changes.find((c) => c.mode === mode).at));
      samples.push(last - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
    samples.sort((a, b) => a - b);
    const peak = Math.max(...instances.map((i) => peakRssMiB(i.proc.pid)));
    ratio(`${kind} store: p99 enable-to-last-of-${INSTANCES}-instances`, percentile(samples, 99), 'target', 1000, ' ms');
    console.log(`  p50 ${fmt(percentile(samples, 50))} ms, max ${fmt(samples.at(-1))} ms over ${TRIALS} changes; instance peak RSS ${fmt(peak, 1)} MiB`);
  } finally {
    await disableKillswitch(store, 'bench').catch(() => undefined);
    for (const i of instances) i.proc.kill('SIGKILL');
    if (kind === 'redis') {
      const { Redis } = await import('ioredis');
      const r = new Redis(url);
      await r.del(key);
      r.disconnect();
    } else {
      const { default: pg } = await import('pg');
      const c = new pg.Client(url);
      await c.connect();
      await c.query('DELETE FROM reprise_killswitch WHERE name = $1', [key]);
      await c.end();
    }
    await store.close();
  }
}
