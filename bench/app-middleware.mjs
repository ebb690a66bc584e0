// Middleware overhead: requests per second of a minimal node:http app with the reprise health and
// killswitch middleware in mode `off`, against the same app without it. Run after `npm run build`.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIST as DIST_DIR, load, peakRssMiB, ratio, startChild, stop, fmt } from './app-common.mjs';

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

const dir = mkdtempSync(path.join(os.tmpdir(), 'reprise-bench-app-'));
const duration = Number(process.env.BENCH_SECONDS ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
try {
  const best = { plain: { rps: 0 }, reprise: { rps: 0 } };
  let peak = 0;
  // Interleaved rounds, best of each side: the machine is shared, and one slow round should not decide.
  for (let round = 0; round < rounds; round++) {
    for (const [name, code] of [['plain', PLAIN], ['reprise', WITH_REPRISE]]) {
      const child = await startChild(code, { STORE: path.join(dir, 'killswitch.json') });
      await load(`http://127.0.0.1:${child.port}/`, { duration: 1 }); // warm-up
      const result = await load(`http://127.0.0.1:${child.port}/api/items?id=1`, { duration });
      if (name === 'reprise') peak = Math.max(peak, peakRssMiB(child.proc.pid));
      await stop(child);
      if (process.env.BENCH_VERBOSE) console.log(`round ${round} ${name}: ${fmt(result.rps)} req/s`);
      if (result.rps > best[name].rps) best[name] = result;
    }
  }
  ratio('middleware requests/s (mode off)', best.reprise.rps, 'plain node:http', best.plain.rps);
  console.log(`p99 latency: reprise ${fmt(best.reprise.p99)} ms vs plain ${fmt(best.plain.p99)} ms; app peak RSS ${fmt(peak, 1)} MiB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// The middleware alone, in process, without the network: what it costs per request in mode `off`.
{
  const lib = await import(path.join(DIST_DIR, 'app/index.js'));
  const dir2 = mkdtempSync(path.join(os.tmpdir(), 'reprise-bench-app-'));
  const killswitch = lib.createKillswitch({ store: path.join(dir2, 'killswitch.json') });
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
  rmSync(dir2, { recursive: true, force: true });
}
