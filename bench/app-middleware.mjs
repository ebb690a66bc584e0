// Middleware overhead: requests per second of a minimal node:http app with the reprise health and
// killswitch middleware in mode `off`, against the same app without it. Run after `npm run build`.
//
// The machine is shared, so both apps run at the same time and are loaded at the same time
// (A/B side by side): whatever else runs slows both alike, and the ratio stays meaningful.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { DIST, fmt, peakRssMiB, ratio, startChild, stop } from './app-common.mjs';

const PLAIN = `
import { createServer } from 'node:http';
const server = createServer((req, res) => res.end('hello'));
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
`;

const WITH_REPRISE = `
import { createServer } from 'node:http';
const lib = await import(process.env.DIST + '/app/index.js');
const killswitch = lib.createKillswitch({ store: process.env.STORE });
await killswitch.ready;
const health = lib.createHealth({ killswitch });
const server = createServer(lib.withReprise((req, res) => res.end('hello'), { health, killswitch }));
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
`;

/** CPU time (user + system) a process has used, in ms. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'reprise-bench-app-'));
const duration = Number(process.env.BENCH_SECONDS ?? 4);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const plain = await startChild(PLAIN);
const reprise = await startChild(WITH_REPRISE, { STORE: path.join(dir, 'killswitch.json') });
const url = (child) => `http://127.0.0.1:${child.port}/api/items?id=1`;
try {
  await Promise.all([plain, reprise].map((c) => autocannon({ url: url(c), connections: 25, duration: 1 })));
  const totals = { plain: 0, reprise: 0 };
  const cpu = { plain: 0, reprise: 0 };
  const p99 = { plain: 0, reprise: 0 };
  for (let round = 0; round < rounds; round++) {
    const before = { plain: cpuMs(plain.proc.pid), reprise: cpuMs(reprise.proc.pid) };
    const [a, b] = await Promise.all([plain, reprise].map((c) => autocannon({ url: url(c), connections: 25, duration })));
    if (a.non2xx || b.non2xx || a.errors || b.errors) throw new Error('non-2xx answers or errors during the run');
    totals.plain += a.requests.total;
    totals.reprise += b.requests.total;
    cpu.plain += cpuMs(plain.proc.pid) - before.plain;
    cpu.reprise += cpuMs(reprise.proc.pid) - before.reprise;
    p99.plain = Math.max(p99.plain, a.latency.p99);
    p99.reprise = Math.max(p99.reprise, b.latency.p99);
    if (process.env.BENCH_VERBOSE) console.log(`round ${round}: plain ${a.requests.average} req/s, reprise ${b.requests.average} req/s`);
  }
  const seconds = rounds * duration;
  ratio('middleware requests/s (mode off, side by side)', totals.reprise / seconds, 'plain node:http', totals.plain / seconds);
  console.log(
    `app CPU per request: reprise ${fmt((cpu.reprise * 1000) / totals.reprise, 1)} µs vs plain ${fmt((cpu.plain * 1000) / totals.plain, 1)} µs; p99 latency ${p99.reprise} ms vs ${p99.plain} ms; app peak RSS ${fmt(peakRssMiB(reprise.proc.pid), 1)} MiB vs ${fmt(peakRssMiB(plain.proc.pid), 1)} MiB`,
  );
} finally {
  await stop(plain);
  await stop(reprise);
}

// The middleware alone, in process, without the network: what it costs per request in mode `off`.
{
  const lib = await import(path.join(DIST, 'app/index.js'));
  const killswitch = lib.createKillswitch({ store: path.join(dir, 'killswitch.json') });
  await killswitch.ready;
  const middleware = lib.nodeMiddleware({ health: lib.createHealth({ killswitch }), killswitch });
  const req = { url: '/api/items?id=1', method: 'GET', headers: {}, socket: { remoteAddress: '127.0.0.1' } };
  let passed = 0;
  const next = () => passed++;
  const n = 5_000_000;
  for (let i = 0; i < 100_000; i++) middleware(req, undefined, next);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) middleware(req, undefined, next);
  const ns = Number(process.hrtime.bigint() - start) / n;
  console.log(`middleware cost in mode off: ${fmt(ns, 1)} ns per request (in process, ${n} calls)`);
  await killswitch.close();
}
rmSync(dir, { recursive: true, force: true });
