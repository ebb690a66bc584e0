// MariaDB benchmark: reprise backup of a generated ~1 GiB database vs
// `mariadb-dump --single-transaction | gzip` on the same data in one run; then a second backup after
// 1% appended orders (stored growth), and restore into new databases vs `gunzip | mariadb`.
// Usage: npm run build && node bench/mysql.mjs [sizeMiB]   (MariaDB on 127.0.0.1:3306, root, empty
// password; mariadb-dump and mariadb on PATH). Prints `reprise <figure> vs <baseline> <figure> = ratio`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, du, fmt, MiB, ratio, reprise, ROOT, timed } from './lib.mjs';

const sizeMiB = Number(process.argv[2] ?? 1024);
const HOST = ['-h', '127.0.0.1', '-P', '3306', '-u', 'root', '--protocol=TCP'];
const SERVER = 'mysql://root@127.0.0.1:3306';
const DB = 'reprise_bench_mysql';
const RESTORED = 'reprise_bench_mysql_restored';
const BASELINE_RESTORED = 'reprise_bench_mysql_gunzip';
const work = path.join(ROOT, 'bench/.data/mysql');
const env = { REPRISE_PASSWORD: 'bench-password' };
// The same options reprise passes to mariadb-dump (docs/sources/mysql.md), so both read the same way.
const DUMP_OPTS = '--single-transaction --routines --triggers --events --hex-blob --default-character-set=utf8mb4 --skip-dump-date';

const sql = (db, query) =>
  execFileSync('mariadb', [...HOST, '--batch', '--skip-column-names', ...(db ? [db] : []), '-e', query], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const dropDb = (db) => sql(null, `DROP DATABASE IF EXISTS ${db}`);

// The CLI is built by others in parallel: run its half only when `backup --help` works.
const hasCli = existsSync(CLI) && spawnSync(process.execPath, [CLI, 'backup', '--help'], { stdio: 'ignore' }).status === 0;

console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, node ${process.version}`);
console.log(`server: MariaDB ${sql(null, 'SELECT VERSION()')}, innodb_buffer_pool_size ${fmt(Number(sql(null, 'SELECT @@innodb_buffer_pool_size')) / MiB, 0)} MiB; ${execFileSync('mariadb-dump', ['--version'], { encoding: 'utf8' }).trim()}`);
if (!hasCli) console.log('reprise CLI not built or not working yet (dist/bin/reprise.js backup --help): baselines only');

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
for (const db of [DB, RESTORED, BASELINE_RESTORED]) dropDb(db);

// --- Generate: customers with JSON profiles, orders with JSON lines, secondary indexes built after
// the load (as a restore does). Rows come from the Sequence engine's seq_1_to_N tables, in chunks so
// that no single transaction holds the whole table in the undo log. ~5 orders per customer.
const customers = Math.max(1000, Math.round(sizeMiB * 680));
const orders = Math.max(5000, Math.round(sizeMiB * 3400));
const CHUNK = 100_000;
const cities = `'Paris', 'Lyon', 'Lille', 'Nantes', 'Bordeaux', 'Toulouse'`;
const statuses = `'new', 'paid', 'shipped', 'delivered', 'cancelled'`;
const orderRow = (idExpr, createdExpr) => `${idExpr}, 1 + FLOOR(RAND() * ${customers}), ${createdExpr},
    ELT(1 + FLOOR(RAND() * 5), ${statuses}), ROUND(RAND() * 500, 2),
    JSON_ARRAY(
      JSON_OBJECT('sku', CONCAT('SKU-', FLOOR(RAND() * 20000)), 'qty', 1 + FLOOR(RAND() * 4), 'price', ROUND(RAND() * 90, 2)),
      JSON_OBJECT('sku', CONCAT('SKU-', FLOOR(RAND() * 20000)), 'qty', 1 + FLOOR(RAND() * 4), 'price', ROUND(RAND() * 90, 2),
                  'note', LEFT(MD5(RAND()), 1 + FLOOR(RAND() * 30))))`;
const chunks = (total, make) => {
  const out = [];
  for (let base = 0; base < total; base += CHUNK) out.push(make(base, Math.min(CHUNK, total - base)));
  return out.join('\n');
};
const script = `
SET SESSION rand_seed1 = 421234567, rand_seed2 = 77123456;
CREATE TABLE customers (
  id BIGINT PRIMARY KEY, email VARCHAR(100) NOT NULL, created_at DATETIME NOT NULL, profile JSON NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE orders (
  id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, created_at DATETIME NOT NULL, status VARCHAR(16) NOT NULL,
  total DECIMAL(12, 2) NOT NULL, items JSON NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
${chunks(customers, (base, n) => `INSERT INTO customers
  SELECT ${base} + seq, CONCAT('user', ${base} + seq, '@example.com'), TIMESTAMP '2020-01-01 00:00:00' + INTERVAL FLOOR(RAND() * 1500 * 86400) SECOND,
    JSON_OBJECT('name', CONCAT('Customer ', ${base} + seq), 'city', ELT(1 + FLOOR(RAND() * 6), ${cities}), 'age', 18 + FLOOR(RAND() * 60),
                'tags', JSON_ARRAY(MD5(RAND()), LEFT(MD5(RAND()), 8)),
                'prefs', JSON_OBJECT('newsletter', RAND() < 0.5, 'lang', 'fr', 'score', ROUND(RAND() * 100, 1)))
  FROM seq_1_to_${n};`)}
${chunks(orders, (base, n) => `INSERT INTO orders SELECT ${orderRow(`${base} + seq`, `TIMESTAMP '2020-01-01 00:00:00' + INTERVAL FLOOR(RAND() * 1500 * 86400) SECOND`)} FROM seq_1_to_${n};`)}
ALTER TABLE customers ADD UNIQUE INDEX customers_email (email);
-- Valid by construction; with the checks on, adding the foreign key would copy the whole table.
SET SESSION foreign_key_checks = 0;
ALTER TABLE orders ADD INDEX orders_customer (customer_id), ADD INDEX orders_created (created_at),
  ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
SET SESSION foreign_key_checks = 1;
ANALYZE TABLE customers, orders;
`;
const scriptFile = path.join(work, 'generate.sql');
writeFileSync(scriptFile, script);
sql(null, `CREATE DATABASE ${DB} CHARACTER SET utf8mb4`);
const generated = await timed(`mariadb ${HOST.join(' ')} ${DB} < ${scriptFile}`, [], { shell: true });
const dbBytes = Number(sql(null, `SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${DB}'`));
console.log(`database: ${customers} customers, ${orders} orders, ${fmt(dbBytes / MiB, 0)} MiB of InnoDB data + indexes (generated in ${fmt(generated.seconds, 1)} s)`);

const repriseRepo = path.join(work, 'reprise-repo');
const config = path.join(work, 'reprise.yaml');
writeFileSync(
  config,
  `version: 1\nrepository:\n  url: ${repriseRepo}\n  password: \${REPRISE_PASSWORD}\ncatalog: ${path.join(work, 'catalog.db')}\n` +
    `sources:\n  shop:\n    type: mariadb\n    url: ${SERVER}/${DB}\n`,
);
const r = (...args) => reprise(['-c', config, ...args], { env });
const dumpGz = (file) => timed(`mariadb-dump ${HOST.join(' ')} ${DUMP_OPTS} -- ${DB} | gzip > ${file}`, [], { shell: true });

const peaks = [];

// --- First backup.
console.log('\n## first backup');
const gzFile1 = path.join(work, 'dump1.sql.gz');
const gz1 = await dumpGz(gzFile1);
const gzBytes1 = statSync(gzFile1).size;
console.log(`mariadb-dump | gzip: ${fmt(gz1.seconds)} s, ${fmt(gzBytes1 / MiB)} MiB`);
let repBytes1 = 0;
if (hasCli) {
  await r('init');
  const rep1 = await r('backup', 'shop');
  repBytes1 = du(repriseRepo);
  peaks.push(['backup 1', rep1.peakRssMiB]);
  ratio('wall time', rep1.seconds, 'mariadb-dump|gzip', gz1.seconds, ' s');
  ratio('stored bytes', repBytes1 / MiB, 'mariadb-dump|gzip', gzBytes1 / MiB, ' MiB');
}

// --- Append 1% orders (ids past the end, so InnoDB and the dump both put them last), second backup.
const appended = Math.round(orders / 100);
sql(
  DB,
  `SET SESSION rand_seed1 = 991234567, rand_seed2 = 12345678;
   INSERT INTO orders SELECT ${orderRow(`${orders} + seq`, 'NOW() - INTERVAL FLOOR(RAND() * 86400) SECOND')} FROM seq_1_to_${appended};`,
);
console.log(`\n## second backup after appending ${appended} orders (1%)`);
const gzFile2 = path.join(work, 'dump2.sql.gz');
const gz2 = await dumpGz(gzFile2);
const gzBytes2 = statSync(gzFile2).size;
console.log(`mariadb-dump | gzip: ${fmt(gz2.seconds)} s, a full ${fmt(gzBytes2 / MiB)} MiB again`);
if (hasCli) {
  const rep2 = await r('backup', 'shop');
  const repGrowth = du(repriseRepo) - repBytes1;
  peaks.push(['backup 2', rep2.peakRssMiB]);
  ratio('wall time', rep2.seconds, 'mariadb-dump|gzip', gz2.seconds, ' s');
  ratio('stored growth', repGrowth / MiB, 'mariadb-dump|gzip (full copy)', gzBytes2 / MiB, ' MiB');
}

// --- Restore into new databases, checked by content (CHECKSUM TABLE), not by exit status.
console.log('\n## restore');
sql(null, `CREATE DATABASE ${BASELINE_RESTORED} CHARACTER SET utf8mb4`);
const gunzip = await timed(`gunzip -c ${gzFile2} | mariadb ${HOST.join(' ')} ${BASELINE_RESTORED}`, [], { shell: true });
console.log(`gunzip | mariadb: ${fmt(gunzip.seconds)} s`);
const checksums = (db) => sql(db, 'CHECKSUM TABLE customers, orders EXTENDED').replace(new RegExp(`${db}\\.`, 'g'), '').replace(/\s+/g, ' ');
const source = checksums(DB);
const baselineEqual = checksums(BASELINE_RESTORED) === source;
console.log(`checksums: source ${source}; gunzip|mariadb ${baselineEqual ? 'equal' : 'DIFFERENT'}`);
if (!baselineEqual) process.exitCode = 1;
if (hasCli) {
  const rest = await r('restore', 'shop', '--to', `${SERVER}/${RESTORED}`);
  peaks.push(['restore', rest.peakRssMiB]);
  ratio('wall time', rest.seconds, 'gunzip|mariadb', gunzip.seconds, ' s');
  const ours = checksums(RESTORED);
  console.log(`checksums: reprise restore ${ours === source ? 'equal to the source' : `DIFFERENT: ${ours}`}`);
  if (ours !== source) process.exitCode = 1;
}

console.log('\n## peak RSS');
for (const [label, mib] of peaks) console.log(`reprise ${label}: ${fmt(mib, 0)} MiB`);
console.log(`mariadb-dump | gzip (largest process of the pipeline): ${fmt(gz1.peakRssMiB, 0)} MiB; gunzip | mariadb: ${fmt(gunzip.peakRssMiB, 0)} MiB`);

if (!process.env.KEEP_BENCH_DATA) {
  for (const db of [DB, RESTORED, BASELINE_RESTORED]) dropDb(db);
  rmSync(work, { recursive: true, force: true });
}
