// PostgreSQL benchmark: reprise backup of a generated ~1 GiB database vs `pg_dump -Fc` and
// `pg_dump -Fc -Z0 | restic backup --stdin`, on the same data in one run; then a second backup
// after 1% appended rows, and restore vs `pg_restore -j2`.
// Usage: npm run build && node bench/postgres.mjs [sizeMiB]   (PostgreSQL on 127.0.0.1:5432, user
// postgres; restic from apt for its baseline). Prints `reprise <figure> vs <baseline> <figure> = ratio`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, du, fmt, MiB, ratio, reprise, ROOT, timed } from './lib.mjs';

const sizeMiB = Number(process.argv[2] ?? 1024);
const SERVER = 'postgres://postgres@127.0.0.1:5432';
const DB = 'reprise_bench_pg';
const RESTORED = 'reprise_bench_pg_restored';
const BASELINE_RESTORED = 'reprise_bench_pg_pgrestore';
const FLOOR_RESTORED = 'reprise_bench_pg_floor';
const work = path.join(ROOT, 'bench/.data/postgres');
const password = 'bench-password';
const env = { RESTIC_PASSWORD: password, REPRISE_PASSWORD: password, RESTIC_CACHE_DIR: path.join(work, 'restic-cache') };

const psql = (db, sql) => execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-d', `${SERVER}/${db}`, '-c', sql], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const dropDb = (db) => psql('postgres', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);

const hasRestic = spawnSync('restic', ['version'], { stdio: 'ignore' }).status === 0;
// The CLI is built by others in parallel: run its half only when `backup --help` works.
const hasCli = existsSync(CLI) && spawnSync(process.execPath, [CLI, 'backup', '--help'], { stdio: 'ignore' }).status === 0;

console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, node ${process.version}`);
console.log(`server: PostgreSQL ${psql('postgres', 'SHOW server_version')}; ${execFileSync('pg_dump', ['--version'], { encoding: 'utf8' }).trim()}`);
if (hasRestic) console.log(`restic: ${execFileSync('restic', ['version'], { encoding: 'utf8' }).trim()}`);
if (!hasCli) console.log('reprise CLI not built or not working yet (dist/bin/reprise.js backup --help): baselines only');

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
for (const db of [RESTORED, BASELINE_RESTORED, FLOOR_RESTORED]) dropDb(db);

// --- Generate: customers with jsonb profiles, orders with jsonb lines, indexes. ~2.5 orders per customer.
// The database is kept between runs (its comment records the size): a rerun removes the rows the
// previous run appended and vacuums, which gives back the same table (the appended rows sat in its last pages).
const customers = Math.round(sizeMiB * 400);
const orders = Math.round(sizeMiB * 2000);
const MARK = `reprise bench ${sizeMiB} MiB`;
const existing = psql('postgres', `SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '${DB}'`);
let generated;
if (existing === MARK && !process.env.REGENERATE) {
  generated = await timed('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', `${SERVER}/${DB}`, '-c', `DELETE FROM orders WHERE id > ${orders}`]);
  psql(DB, 'VACUUM ANALYZE');
  console.log(`database reused (rows appended by the last run removed in ${fmt(generated.seconds, 1)} s; REGENERATE=1 rebuilds it)`);
} else {
  dropDb(DB);
  psql('postgres', `CREATE DATABASE ${DB}`);
  generated = await timed('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', `${SERVER}/${DB}`, '-c', `  SELECT setseed(0.42);
    CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL, profile jsonb NOT NULL);
    INSERT INTO customers
      SELECT g, 'user' || g || '@example.com', timestamptz '2020-01-01' + random() * interval '1500 days',
             jsonb_build_object('name', 'Customer ' || g,
                                'city', (ARRAY['Paris', 'Lyon', 'Lille', 'Nantes', 'Bordeaux', 'Toulouse'])[1 + floor(random() * 6)::int],
                                'age', 18 + floor(random() * 60)::int,
                                'tags', jsonb_build_array(md5(random()::text), substr(md5(random()::text), 1, 8)),
                                'prefs', jsonb_build_object('newsletter', random() < 0.5, 'lang', 'fr', 'score', round((random() * 100)::numeric, 1)))
        FROM generate_series(1, ${customers}) g;
    CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers, created_at timestamptz NOT NULL,
                         status text NOT NULL, total numeric(12, 2) NOT NULL, lines jsonb NOT NULL);
    INSERT INTO orders
      SELECT g, 1 + floor(random() * ${customers})::bigint, timestamptz '2020-01-01' + random() * interval '1500 days',
             (ARRAY['new', 'paid', 'shipped', 'delivered', 'cancelled'])[1 + floor(random() * 5)::int], round((random() * 500)::numeric, 2),
             jsonb_build_array(
               jsonb_build_object('sku', 'SKU-' || floor(random() * 20000)::int, 'qty', 1 + floor(random() * 4)::int, 'price', round((random() * 90)::numeric, 2)),
               jsonb_build_object('sku', 'SKU-' || floor(random() * 20000)::int, 'qty', 1 + floor(random() * 4)::int, 'price', round((random() * 90)::numeric, 2),
                                  'note', substr(md5(random()::text), 1, 1 + floor(random() * 30)::int)))
        FROM generate_series(1, ${orders}) g;
    CREATE INDEX orders_customer ON orders (customer_id);
    CREATE INDEX orders_created ON orders (created_at);
    CREATE INDEX customers_profile ON customers USING gin (profile jsonb_path_ops);`]);
  psql(DB, 'VACUUM ANALYZE');
  psql('postgres', `COMMENT ON DATABASE ${DB} IS '${MARK}'`);
}
const dbBytes = Number(psql(DB, 'SELECT pg_database_size(current_database())'));
console.log(`database: ${customers} customers, ${orders} orders, ${fmt(dbBytes / MiB, 0)} MiB on disk (generated in ${fmt(generated.seconds, 1)} s)`);

const repriseRepo = path.join(work, 'reprise-repo');
const resticRepo = path.join(work, 'restic-repo');
const config = path.join(work, 'reprise.yaml');
writeFileSync(
  config,
  `version: 1\nrepository:\n  url: ${repriseRepo}\n  password: \${REPRISE_PASSWORD}\ncatalog: ${path.join(work, 'catalog.db')}\n` +
    `sources:\n  app:\n    type: postgres\n    url: ${SERVER}/${DB}\n    jobs: 2\n`,
);
const r = (...args) => reprise(['-c', config, ...args], { env });
const restic = (...args) => timed('restic', ['-r', resticRepo, ...args], { env });
const pgDumpFc = (file) => timed('pg_dump', ['-Fc', '-f', file, '-d', `${SERVER}/${DB}`]);
const resticStdin = () =>
  timed(`pg_dump -Fc -Z0 -d ${SERVER}/${DB} | restic -r ${resticRepo} backup --quiet --stdin --stdin-filename ${DB}.dump`, [], { env, shell: true });

const peaks = [];
const figures = {};

// --- First backup.
console.log('\n## first backup');
const fc1 = await pgDumpFc(path.join(work, 'dump1.fc'));
const fcBytes1 = statSync(path.join(work, 'dump1.fc')).size;
console.log(`pg_dump -Fc: ${fmt(fc1.seconds)} s, ${fmt(fcBytes1 / MiB)} MiB, peak RSS ${fmt(fc1.peakRssMiB, 0)} MiB`);
let rs1;
let resticBytes1 = 0;
if (hasRestic) {
  await restic('init');
  rs1 = await resticStdin();
  resticBytes1 = du(resticRepo);
  console.log(`pg_dump -Fc -Z0 | restic --stdin: ${fmt(rs1.seconds)} s, ${fmt(resticBytes1 / MiB)} MiB stored`);
}
let rep1;
let repBytes1 = 0;
if (hasCli) {
  await r('init');
  rep1 = await r('backup', 'app');
  repBytes1 = du(repriseRepo);
  peaks.push(['backup 1', rep1.peakRssMiB]);
  figures.first = ratio('wall time', rep1.seconds, 'pg_dump -Fc', fc1.seconds, ' s');
  if (rs1) ratio('wall time', rep1.seconds, 'pg_dump|restic', rs1.seconds, ' s');
  ratio('stored bytes', repBytes1 / MiB, 'pg_dump -Fc', fcBytes1 / MiB, ' MiB');
  if (rs1) ratio('stored bytes', repBytes1 / MiB, 'pg_dump|restic', resticBytes1 / MiB, ' MiB');
}

// --- The floor: what pg_dump alone takes to write what reprise stores (directory format, uncompressed, 2 jobs).
const floorDir = path.join(work, 'floor.dir');
const floorDump = await timed('pg_dump', ['-Fd', '-Z0', '-j2', '-f', floorDir, '-d', `${SERVER}/${DB}`]);
console.log(`floor: pg_dump -Fd -Z0 -j2 alone ${fmt(floorDump.seconds)} s = ${fmt(floorDump.seconds / fc1.seconds, 3)}× pg_dump -Fc`);

// --- Append 1% rows, second backup.
const appended = Math.round(orders / 100);
// New orders drawn like the existing ones (same size distribution), as a live shop would add them.
psql(DB, `SELECT setseed(0.77); INSERT INTO orders
    SELECT ${orders} + g, 1 + floor(random() * ${customers})::bigint, now() - random() * interval '1 day',
           (ARRAY['new', 'paid', 'shipped', 'delivered', 'cancelled'])[1 + floor(random() * 5)::int], round((random() * 500)::numeric, 2),
           jsonb_build_array(
             jsonb_build_object('sku', 'SKU-' || floor(random() * 20000)::int, 'qty', 1 + floor(random() * 4)::int, 'price', round((random() * 90)::numeric, 2)),
             jsonb_build_object('sku', 'SKU-' || floor(random() * 20000)::int, 'qty', 1 + floor(random() * 4)::int, 'price', round((random() * 90)::numeric, 2),
                                'note', substr(md5(random()::text), 1, 1 + floor(random() * 30)::int)))
      FROM generate_series(1, ${appended}) g`);
// PostgreSQL puts new rows into free space anywhere in the table (the free space map, filled by
// VACUUM): "appended" rows do not all land at the end of the table's dump file.
const pages = psql(DB, `SELECT count(DISTINCT (ctid::text::point)[0]) || ' pages of ' || pg_relation_size('orders') / 8192 FROM orders WHERE id > ${orders}`);
console.log(`\n## second backup after appending ${appended} orders (1%), stored by PostgreSQL in ${pages}`);
const fc2 = await pgDumpFc(path.join(work, 'dump2.fc'));
const fcBytes2 = statSync(path.join(work, 'dump2.fc')).size;
console.log(`pg_dump -Fc: ${fmt(fc2.seconds)} s, a full ${fmt(fcBytes2 / MiB)} MiB again`);
let rs2;
let resticGrowth = 0;
if (hasRestic) {
  rs2 = await resticStdin();
  resticGrowth = du(resticRepo) - resticBytes1;
  console.log(`pg_dump -Fc -Z0 | restic --stdin: ${fmt(rs2.seconds)} s, +${fmt(resticGrowth / MiB)} MiB stored`);
}
if (hasCli) {
  const rep2 = await r('backup', 'app');
  const repGrowth = du(repriseRepo) - repBytes1;
  peaks.push(['backup 2', rep2.peakRssMiB]);
  ratio('wall time', rep2.seconds, 'pg_dump -Fc', fc2.seconds, ' s');
  if (rs2) ratio('wall time', rep2.seconds, 'pg_dump|restic', rs2.seconds, ' s');
  ratio('stored growth', repGrowth / MiB, 'pg_dump -Fc (full copy)', fcBytes2 / MiB, ' MiB');
  if (rs2) ratio('stored growth', repGrowth / MiB, 'pg_dump|restic', resticGrowth / MiB, ' MiB');
}

// --- Restore into new databases.
console.log('\n## restore');
// Each timed restore starts from a checkpoint: the previous one's dirty pages must not be flushed on the next one's time.
const checkpoint = () => psql('postgres', 'CHECKPOINT');
psql('postgres', `CREATE DATABASE ${BASELINE_RESTORED}`);
checkpoint();
const pgr = await timed('pg_restore', ['-j2', '-d', `${SERVER}/${BASELINE_RESTORED}`, path.join(work, 'dump2.fc')]);
console.log(`pg_restore -j2 (from -Fc): ${fmt(pgr.seconds)} s`);
psql('postgres', `CREATE DATABASE ${FLOOR_RESTORED}`);
checkpoint();
const floorRestore = await timed('pg_restore', ['-j2', '-d', `${SERVER}/${FLOOR_RESTORED}`, floorDir]);
console.log(`floor: pg_restore -j2 from the -Fd -Z0 directory ${fmt(floorRestore.seconds)} s = ${fmt(floorRestore.seconds / pgr.seconds, 3)}× pg_restore -j2 from -Fc`);
if (hasCli) {
  checkpoint();
  const rest = await r('restore', 'app', '--to', `${SERVER}/${RESTORED}`);
  peaks.push(['restore', rest.peakRssMiB]);
  ratio('wall time', rest.seconds, 'pg_restore -j2', pgr.seconds, ' s');
  const count = (db) => psql(db, 'SELECT count(*) FROM orders');
  console.log(`orders restored: reprise ${count(RESTORED)}, pg_restore ${count(BASELINE_RESTORED)}, source ${count(DB)}`);
}

console.log('\n## peak RSS');
for (const [label, mib] of peaks) console.log(`reprise ${label}: ${fmt(mib, 0)} MiB`);
console.log(`pg_dump -Fc: ${fmt(fc1.peakRssMiB, 0)} MiB; pg_restore -j2: ${fmt(pgr.peakRssMiB, 0)} MiB`);

// The source database stays for the next run (DROP_BENCH_DB=1 removes it).
if (process.env.DROP_BENCH_DB) dropDb(DB);
if (!process.env.KEEP_BENCH_DATA) {
  for (const db of [RESTORED, BASELINE_RESTORED, FLOOR_RESTORED]) dropDb(db);
  rmSync(work, { recursive: true, force: true });
}
