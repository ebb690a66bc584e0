// Redis benchmark: reprise backup of ~1M keys of mixed types vs `redis-cli --rdb FILE`, and reprise
// restore into an empty server vs a redis-server loading that RDB, in one run.
// Everything runs against PRIVATE redis-servers started here on free loopback ports, each with its
// own temp dir (the shared server on 6379 is never touched), killed at the end.
// Usage: npm run build && node bench/redis.mjs [keys]   (redis-server and redis-cli on PATH).
// Prints `reprise <figure> vs <baseline> <figure> = ratio`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { CLI, du, fmt, MiB, ratio, reprise, ROOT, timed } from './lib.mjs';

const keys = Number(process.argv[2] ?? 1_000_000);
const DB = 1; // a dedicated db index, the same on every server so that DEBUG DIGEST compares like with like
const work = path.join(ROOT, 'bench/.data/redis');
const env = { REPRISE_PASSWORD: 'bench-password' };

const hasCli = existsSync(CLI) && spawnSync(process.execPath, [CLI, 'backup', '--help'], { stdio: 'ignore' }).status === 0;

/** A free loopback port: bind port 0, read it, close (the tiny race is acceptable for a bench). */
const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const servers = [];
/** Starts a private redis-server in its own dir; resolves once it answers (after loading any RDB). */
async function startServer(name, { rdb } = {}) {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  if (rdb) copyFileSync(rdb, path.join(dir, 'dump.rdb'));
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', 'dump.rdb', '--save', '', '--appendonly', 'no',
      '--enable-debug-command', 'yes', '--logfile', path.join(dir, 'server.log')],
    { stdio: 'ignore' },
  );
  const client = new Redis({ host: '127.0.0.1', port, db: DB, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 20 });
  servers.push({ child, client });
  client.on('error', () => {}); // refused connections while the server starts are expected: we poll
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server ${name} exited ${child.exitCode}: see ${dir}/server.log`);
    try {
      if (client.status === 'wait') await client.connect();
      // PING answers -LOADING while the RDB is read; INFO tells when it is done.
      if (/loading:0/.test(await client.info('persistence'))) break;
    } catch {
      // not listening or still loading
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { name, port, client, child, dir, readySeconds: (performance.now() - started) / 1000 };
}
const peakRssMiB = (pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

// Deterministic pseudo-random numbers (xorshift32), so each run loads the same data.
let seed = 0x9e3779b9;
const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};
const int = (n) => Math.floor(rnd() * n);
const word = (n) => Math.floor(rnd() * 36 ** n).toString(36).padStart(n, '0');
const cities = ['Paris', 'Lyon', 'Lille', 'Nantes', 'Bordeaux', 'Toulouse'];

/** Appends the commands for key number i: a mix like a web app's cache, sessions and leaderboards. */
function addKey(p, i) {
  const kind = i % 20;
  if (kind < 6) p.set(`page:${i}`, `<div class="card" data-id="${i}">${word(8)} ${word(12)} ${word(20)} ${cities[int(6)]}</div>`);
  else if (kind < 8) p.set(`session:${i}`, JSON.stringify({ user: int(1e6), csrf: word(16), cart: [int(1e4), int(1e4)] }), 'EX', 86_400 + int(86_400));
  else if (kind < 10) p.set(`counter:${i}`, String(int(1e9)));
  else if (kind < 14)
    p.hset(`user:${i}`, { name: `User ${i}`, email: `user${i}@example.com`, city: cities[int(6)], age: String(18 + int(60)), score: String(int(1e5)), token: word(12) });
  else if (kind < 16) p.rpush(`feed:${i}`, ...Array.from({ length: 5 + int(16) }, () => `post:${int(1e7)}`));
  else if (kind < 18) p.sadd(`tags:${i}`, ...Array.from({ length: 3 + int(8) }, () => word(6)));
  else p.zadd(`board:${i}`, ...Array.from({ length: 10 }, () => [String(int(1e6)), `player:${int(1e5)}`]).flat());
}

console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, node ${process.version}`);
console.log(`server: ${execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim()} (private instances, default repl-diskless-sync-delay 5 s)`);
if (!hasCli) console.log('reprise CLI not built or not working yet (dist/bin/reprise.js backup --help): baselines only');

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
try {
  const source = await startServer('source');

  // --- Load: pipelined batches of 5000 commands.
  const loadStart = performance.now();
  for (let i = 0; i < keys; i += 5000) {
    const p = source.client.pipeline();
    for (let j = i; j < Math.min(keys, i + 5000); j++) addKey(p, j);
    for (const [err] of await p.exec()) if (err) throw err;
  }
  const info = await source.client.info('memory');
  const used = Number(/used_memory:(\d+)/.exec(info)?.[1]);
  console.log(`database: ${await source.client.dbsize()} keys in db ${DB} (40% strings, 10% with a TTL, 20% hashes, 10% lists, 10% sets, 10% zsets), ` +
    `${fmt(used / MiB, 0)} MiB used memory (loaded in ${fmt((performance.now() - loadStart) / 1000, 1)} s)`);

  const url = `redis://127.0.0.1:${source.port}/${DB}`;
  const writeConfig = (name, method) => {
    const file = path.join(work, `${name}.yaml`);
    writeFileSync(
      file,
      `version: 1\nrepository:\n  url: ${path.join(work, `${name}-repo`)}\n  password: \${REPRISE_PASSWORD}\ncatalog: ${path.join(work, `${name}-catalog.db`)}\n` +
        `sources:\n  cache:\n    type: redis\n    url: ${url}\n    method: ${method}\n`,
    );
    return file;
  };
  const peaks = [];

  // --- Backup.
  console.log('\n## backup');
  const rdbFile = path.join(work, 'dump.rdb');
  const cliRdb = await timed('redis-cli', ['-h', '127.0.0.1', '-p', String(source.port), '--rdb', rdbFile]);
  const rdbBytes = statSync(rdbFile).size;
  console.log(`redis-cli --rdb: ${fmt(cliRdb.seconds)} s, ${fmt(rdbBytes / MiB)} MiB, peak RSS ${fmt(cliRdb.peakRssMiB, 0)} MiB`);
  let scanConfig;
  if (hasCli) {
    for (const method of ['scan', 'rdb']) {
      const config = writeConfig(method, method);
      if (method === 'scan') scanConfig = config;
      await reprise(['-c', config, 'init'], { env });
      const b = await reprise(['-c', config, 'backup', 'cache'], { env });
      peaks.push([`backup (method ${method})`, b.peakRssMiB]);
      ratio(`wall time, method ${method}`, b.seconds, 'redis-cli --rdb', cliRdb.seconds, ' s');
      ratio(`stored bytes, method ${method}`, du(path.join(work, `${method}-repo`)) / MiB, 'RDB file', rdbBytes / MiB, ' MiB');
    }
  }

  // --- Restore: reprise into an empty server vs a redis-server starting on the RDB file.
  console.log('\n## restore');
  const loaded = await startServer('rdb-load', { rdb: rdbFile });
  const loadPeak = peakRssMiB(loaded.child.pid);
  console.log(`redis-server loading the RDB: ${fmt(loaded.readySeconds)} s to ready, peak RSS ${fmt(loadPeak, 0)} MiB`);
  const digest = async (s) => s.client.debug('digest');
  const sourceDigest = await digest(source);
  console.log(`DEBUG DIGEST: RDB-loaded server ${(await digest(loaded)) === sourceDigest ? 'equal to the source' : 'DIFFERENT'}`);
  if (hasCli) {
    const target = await startServer('target');
    const rest = await reprise(['-c', scanConfig, 'restore', 'cache', '--to', `redis://127.0.0.1:${target.port}/${DB}`], { env });
    peaks.push(['restore', rest.peakRssMiB]);
    ratio('wall time', rest.seconds, 'redis-server on the RDB', loaded.readySeconds, ' s');
    // TTLs are restored relative (a few ms later), and DEBUG DIGEST includes the absolute expiry:
    // check every session key still has one, then drop them on both sides and compare the digests.
    const sessions = [];
    for (let i = 6; i < keys; i += 20) for (let k = 0; k < 2 && i + k < keys; k++) sessions.push(`session:${i + k}`);
    const ttls = async (s) => {
      const p = s.client.pipeline();
      for (const k of sessions) p.pttl(k);
      return (await p.exec()).filter(([, v]) => v > 0).length;
    };
    const [withTtlSource, withTtlTarget] = [await ttls(source), await ttls(target)];
    for (const s of [source, target]) {
      const p = s.client.pipeline();
      for (const k of sessions) p.persist(k);
      await p.exec();
    }
    const same = (await digest(target)) === (await digest(source));
    console.log(`reprise restore: ${await target.client.dbsize()} keys, ${withTtlTarget} of ${withTtlSource} session keys with a TTL, ` +
      `DEBUG DIGEST ${same ? 'equal to the source' : 'DIFFERENT'} (TTLs removed on both first)`);
    if (!same || withTtlTarget !== withTtlSource) process.exitCode = 1;
  }

  console.log('\n## peak RSS');
  for (const [label, mib] of peaks) console.log(`reprise ${label}: ${fmt(mib, 0)} MiB`);
  console.log(`redis-cli --rdb: ${fmt(cliRdb.peakRssMiB, 0)} MiB; redis-server loading the RDB: ${fmt(loadPeak, 0)} MiB; source server: ${fmt(peakRssMiB(source.child.pid), 0)} MiB`);
} finally {
  for (const { child, client } of servers) {
    client.disconnect();
    child.kill('SIGKILL');
  }
  if (!process.env.KEEP_BENCH_DATA) rmSync(work, { recursive: true, force: true });
}
process.exit(process.exitCode ?? 0);
