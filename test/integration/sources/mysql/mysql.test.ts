import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRepriseError, type ErrorCode, type RepriseError } from '../../../../src/core/errors.js';
import { createMysqlSource } from '../../../../src/sources/mysql/index.js';
import type { MysqlSourceConfig } from '../../../../src/sources/mysql/schema.js';
import type { Source, SourceInfo } from '../../../../src/sources/source.js';
import { roundTrip } from '../../../helpers/source-roundtrip.js';
import { collectDump, replay } from './pipe.js';

const suffix = randomBytes(4).toString('hex');
const SRC = `rp_my_src_${suffix}`;
const DST = `rp_my_dst_${suffix}`;
const BUSY = `rp_my_busy_${suffix}`;
const BROKEN = `rp_my_broken_${suffix}`;
const BIG = `rp_my_big_${suffix}`;
const USER = `rp_user_${suffix}`;
const SERVER = 'mysql://root@127.0.0.1:3306';

let admin: Connection;
const created: string[] = [];

function config(url: string, extra: Partial<MysqlSourceConfig> = {}): MysqlSourceConfig {
  return { type: 'mariadb', url, ...extra } as MysqlSourceConfig;
}
const signal = () => new AbortController().signal;

async function expectCode(p: Promise<unknown> | (() => Promise<unknown>), code: ErrorCode): Promise<RepriseError> {
  const err = await (typeof p === 'function' ? p() : p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isRepriseError(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
  expect((err as { hint: string }).hint.length).toBeGreaterThan(10);
  return err as RepriseError;
}

async function checksums(db: string): Promise<Record<string, string>> {
  const [tables] = await admin.query<RowDataPacket[]>(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
    [db],
  );
  const out: Record<string, string> = {};
  for (const { t } of tables) {
    const [rows] = await admin.query<RowDataPacket[]>(`CHECKSUM TABLE \`${db}\`.\`${String(t)}\` EXTENDED`);
    out[String(t)] = String(rows[0]?.Checksum);
  }
  return out;
}

async function createDb(db: string, sql: string): Promise<void> {
  created.push(db);
  await admin.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.query(`USE \`${db}\``);
  await admin.query(sql);
}

beforeAll(async () => {
  admin = await createConnection({ host: '127.0.0.1', port: 3306, user: 'root', multipleStatements: true, charset: 'utf8mb4' });
  await createDb(
    SRC,
    `CREATE TABLE customers (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(100) NOT NULL, note TEXT, born DATE, seen DATETIME(3), balance DECIMAL(12,4)) ENGINE=InnoDB;
     CREATE TABLE files (id INT PRIMARY KEY, customer_id INT, data LONGBLOB, FOREIGN KEY (customer_id) REFERENCES customers(id)) ENGINE=InnoDB;
     CREATE TABLE audit (id INT PRIMARY KEY AUTO_INCREMENT, customer_id INT, at TIMESTAMP DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB;
     CREATE TRIGGER customers_ai AFTER INSERT ON customers FOR EACH ROW INSERT INTO audit (customer_id) VALUES (NEW.id);
     CREATE VIEW rich AS SELECT id, name FROM customers WHERE balance > 100;
     CREATE FUNCTION add_tax(x DECIMAL(12,4)) RETURNS DECIMAL(12,4) DETERMINISTIC RETURN x * 1.2;
     CREATE PROCEDURE touch_all() UPDATE customers SET seen = NOW(3);
     CREATE EVENT purge_audit ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit WHERE at < NOW() - INTERVAL 30 DAY;`,
  );
  const insert = await admin.prepare(`INSERT INTO \`${SRC}\`.customers (name, note, born, seen, balance) VALUES (?, ?, ?, ?, ?)`);
  const names = ['Zoë', 'Ünal', '李小龍', 'O\'Brien; DROP', 'emoji 🎉🚀', 'tab\tnewline\nback\\slash', 'null\0byte'];
  for (let i = 0; i < 200; i++) {
    await insert.execute([names[i % names.length] + ` #${i}`, 'x'.repeat(i * 7), `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`, `2024-03-0${1 + (i % 9)} 12:34:56.789`, (i * 12.3456).toFixed(4)]);
  }
  await insert.close();
  for (let i = 1; i <= 20; i++) {
    await admin.query(`INSERT INTO \`${SRC}\`.files VALUES (?, ?, ?)`, [i, i, randomBytes(1000 * i)]);
  }
  await createDb(BUSY, 'CREATE TABLE keepme (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO keepme VALUES (1, "precious"), (2, "data");');
  await createDb(BROKEN, 'CREATE TABLE t (id INT); CREATE VIEW v AS SELECT id FROM t; DROP TABLE t;');
  created.push(DST);
  await admin.query(`CREATE USER '${USER}'@'%' IDENTIFIED BY 'right-password'`);
  await admin.query(`GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON \`${SRC}\`.* TO '${USER}'@'%'`);
  // MariaDB reads routine definitions from mysql.proc (docs/sources/mysql.md lists these grants).
  await admin.query(`GRANT SELECT ON mysql.proc TO '${USER}'@'%'`);
});

afterAll(async () => {
  for (const db of created) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
  await admin.query(`DROP USER IF EXISTS '${USER}'@'%'`);
  await admin.end();
});

describe('mysql source', () => {
  it('inspects server, tool version and size', async () => {
    const info = await createMysqlSource('shop', config(`${SERVER}/${SRC}`)).inspect(signal());
    expect(info.kind).toBe('mariadb');
    expect(info.versions.server).toMatch(/MariaDB/);
    expect(info.versions['mariadb-dump']).toMatch(/^\d+\.\d+/);
    expect(info.sizeBytes).toBeGreaterThan(20_000);
    expect(info.location).not.toContain('password');
    expect(info.facts.databases).toEqual({ [SRC]: { charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' } });
  });

  it('round-trips tables, views, routines, triggers and events with equal checksums', async () => {
    const source = createMysqlSource('shop', config(`${SERVER}/${SRC}`));
    expect(await source.probeTarget(`${SERVER}/${DST}`, signal())).toMatchObject({ exists: false, empty: true });
    const res = await roundTrip(source, `${SERVER}/${DST}`);
    expect(res.parts).toBe(1);
    expect(res.bytes).toBeGreaterThan(50_000);

    const before = await checksums(SRC);
    expect(Object.keys(before)).toEqual(['audit', 'customers', 'files']);
    expect(await checksums(DST)).toEqual(before);

    const v1 = await source.verify(`${SERVER}/${SRC}`, signal());
    const v2 = await source.verify(`${SERVER}/${DST}`, signal());
    expect(v2.ok).toBe(true);
    expect(v2.measurements).toEqual(v1.measurements);
    expect(v2.measurements).toMatchObject({
      views: ['rich'],
      routines: ['FUNCTION add_tax', 'PROCEDURE touch_all'],
      triggers: ['customers_ai'],
      events: ['purge_audit'],
    });
    // The trigger and the function work in the restored database.
    await admin.query(`INSERT INTO \`${DST}\`.customers (name, balance) VALUES ('new', 1)`);
    const [rows] = await admin.query<RowDataPacket[]>(`SELECT COUNT(*) AS n, \`${DST}\`.add_tax(10) AS taxed FROM \`${DST}\`.audit`);
    expect(Number(rows[0]?.n)).toBe(201);
    expect(rows[0]?.taxed).toBe('12.0000');
    const [charset] = await admin.query<RowDataPacket[]>('SELECT DEFAULT_COLLATION_NAME AS c FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [DST]);
    expect(charset[0]?.c).toBe('utf8mb4_unicode_ci');
  });

  it('refuses a non-empty target without force and leaves it unchanged; with force replaces it', async () => {
    const source = createMysqlSource('shop', config(`${SERVER}/${SRC}`));
    const info = await source.inspect(signal());
    const dump = await collectDump(source.dump(signal()));
    const busyBefore = await checksums(BUSY);
    expect(await source.probeTarget(`${SERVER}/${BUSY}`, signal())).toMatchObject({ exists: true, empty: false });
    await expectCode(source.restore(replay(dump), { target: `${SERVER}/${BUSY}`, force: false, info, signal: signal() }), 'REPRISE_TARGET_NOT_EMPTY');
    expect(await checksums(BUSY)).toEqual(busyBefore);

    await source.restore(replay(dump), { target: `${SERVER}/${BUSY}`, force: true, info, signal: signal() });
    expect(await checksums(BUSY)).toEqual(await checksums(SRC));
  });

  it('fails the part stream at its end when the dump tool fails, and restore drops what it created', async () => {
    const source = createMysqlSource('broken', config(`${SERVER}/${BROKEN}`));
    const err = await expectCode(collectDump(source.dump(signal())), 'REPRISE_TOOL_FAILED');
    expect(err.message).toMatch(/mariadb-dump|mysqldump/);
    expect(err.message.length).toBeGreaterThan(40); // carries the tool's stderr

    const bad = new Map([['x.sql', Buffer.from('CREATE TABLE ok (id INT);\nTHIS IS NOT SQL;\n')]]);
    const target = `rp_my_fail_${suffix}`;
    created.push(target);
    const info: SourceInfo = { kind: 'mariadb', location: '', versions: {}, facts: {} };
    await expectCode(source.restore(replay(bad), { target: `${SERVER}/${target}`, force: false, info, signal: signal() }), 'REPRISE_TOOL_FAILED');
    const [rows] = await admin.query<RowDataPacket[]>('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [target]);
    expect(rows).toHaveLength(0);
  });

  it('maps wrong password, server down, missing database and missing tool to their codes', async () => {
    const sourceBefore = await checksums(SRC);
    const wrong = createMysqlSource('s', config(`mysql://${USER}:wrong@127.0.0.1:3306/${SRC}`));
    await expectCode(wrong.inspect(signal()), 'REPRISE_SOURCE_AUTH');
    await expectCode(collectDump(wrong.dump(signal())), 'REPRISE_SOURCE_AUTH');
    const right = createMysqlSource('s', config(`mysql://${USER}@127.0.0.1:3306/${SRC}`, { password: 'right-password' }));
    expect((await right.inspect(signal())).versions.server).toMatch(/MariaDB/);
    // The password travels in MYSQL_PWD: a dump as that user works.
    expect((await collectDump(right.dump(signal()))).get(`${SRC}.sql`)?.length).toBeGreaterThan(50_000);

    await expectCode(createMysqlSource('s', config(`mysql://root@127.0.0.1:1/${SRC}`)).inspect(signal()), 'REPRISE_SOURCE_UNREADABLE');
    await expectCode(createMysqlSource('s', config(`${SERVER}/rp_no_such_db_${suffix}`)).inspect(signal()), 'REPRISE_SOURCE_NOT_FOUND');
    await expectCode(collectDump(createMysqlSource('s', config(`${SERVER}/rp_no_such_db_${suffix}`)).dump(signal())), 'REPRISE_SOURCE_NOT_FOUND');

    const empty = mkdtempSync(join(tmpdir(), 'rp-nopath-'));
    try {
      const noTools: Source = createMysqlSource('s', config(`${SERVER}/${SRC}`), { searchPath: empty });
      const err = await expectCode(noTools.inspect(signal()), 'REPRISE_TOOL_MISSING');
      expect(err.hint).toContain('mariadb-client');
      await expectCode(collectDump(noTools.dump(signal())), 'REPRISE_TOOL_MISSING');
      const info: SourceInfo = { kind: 'mariadb', location: '', versions: {}, facts: {} };
      await expectCode(noTools.restore(replay(new Map()), { target: `${SERVER}/x`, force: false, info, signal: signal() }), 'REPRISE_TOOL_MISSING');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    // Nothing of the source changed through all this.
    expect(await checksums(SRC)).toEqual(sourceBefore);
  });

  it('streams a large dump with bounded memory', async () => {
    created.push(BIG);
    await admin.query(`CREATE DATABASE \`${BIG}\``);
    await admin.query(`CREATE TABLE \`${BIG}\`.blobs (id INT PRIMARY KEY AUTO_INCREMENT, b BLOB) ENGINE=InnoDB`);
    // 48k rows of 1 KiB random bytes: ~96 MiB of dump with --hex-blob.
    await admin.query(`INSERT INTO \`${BIG}\`.blobs (b) SELECT RANDOM_BYTES(1024) FROM seq_1_to_49152`);
    const source = createMysqlSource('big', config(`${SERVER}/${BIG}`));
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    let bytes = 0;
    for await (const part of source.dump(signal())) {
      for await (const chunk of part.open?.() as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        peak = Math.max(peak, process.memoryUsage().rss);
      }
    }
    console.log(`mysql big dump: ${(bytes / 2 ** 20).toFixed(1)} MiB, rss growth ${((peak - base) / 2 ** 20).toFixed(1)} MiB`);
    expect(bytes).toBeGreaterThan(90 * 2 ** 20);
    expect(peak - base).toBeLessThan(48 * 2 ** 20);
  });

  it('cancels a running dump: the part fails with REPRISE_ABORTED and the tool is gone', async () => {
    const source = createMysqlSource('big', config(`${SERVER}/${BIG}`));
    const ac = new AbortController();
    let bytes = 0;
    const err = await (async () => {
      for await (const part of source.dump(ac.signal)) {
        for await (const chunk of part.open?.() as AsyncIterable<Uint8Array>) {
          bytes += chunk.length;
          if (bytes > 4 * 2 ** 20 && !ac.signal.aborted) ac.abort();
        }
      }
    })().then(() => undefined, (e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_ABORTED'), String(err)).toBe(true);
    expect(bytes).toBeLessThan(90 * 2 ** 20);
    const { execFileSync } = await import('node:child_process');
    const running = execFileSync('ps', ['-eo', 'args']).toString().split('\n').filter((l) => l.includes('dump') && l.includes(BIG));
    expect(running).toEqual([]);
  });

  it('restores several databases each under its own name when the target names none', async () => {
    const a = `rp_my_multi_a_${suffix}`;
    const b = `rp_my_multi_b_${suffix}`;
    await createDb(a, 'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO t VALUES (1, "a1"), (2, "a2");');
    await createDb(b, 'CREATE TABLE u (id INT PRIMARY KEY, d DATE); INSERT INTO u VALUES (1, "2020-02-29");');
    const before = { a: await checksums(a), b: await checksums(b) };
    const source = createMysqlSource('multi', config(`${SERVER}/`, { databases: [a, b] }));
    const info = await source.inspect(signal());
    const parts = await collectDump(source.dump(signal()));
    expect([...parts.keys()]).toEqual([`${a}.sql`, `${b}.sql`]);
    await expectCode(source.restore(replay(parts), { target: `${SERVER}/one_name_${suffix}`, force: false, info, signal: signal() }), 'REPRISE_USAGE');
    await admin.query(`DROP DATABASE IF EXISTS \`one_name_${suffix}\``);
    await admin.query(`DROP DATABASE \`${a}\``);
    await admin.query(`DROP DATABASE \`${b}\``);
    const res = await source.restore(replay(parts), { target: `${SERVER}/`, force: false, info, signal: signal() });
    expect(res.parts).toBe(2);
    expect({ a: await checksums(a), b: await checksums(b) }).toEqual(before);
  });
});
