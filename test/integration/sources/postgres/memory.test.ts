import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresSource } from '../../../../src/sources/postgres/index.js';
import { postgresSourceSchema } from '../../../../src/sources/postgres/schema.js';
import { roundTrip } from '../../../helpers/source-roundtrip.js';
import { createDb, dbUrl, dropDb, randomName, sql } from './fixture.js';

const db = randomName('reprise_pg_mem');

beforeAll(async () => {
  await createDb(db);
  // ~200 MB of table data (1.2 M rows of ~170 bytes), unlogged so that the fixture builds fast.
  await sql(db, `CREATE UNLOGGED TABLE big (id int, payload text);
    INSERT INTO big SELECT g, repeat(md5(g::text), 5) FROM generate_series(1, 1200000) g;`);
});

const restored = randomName('reprise_pg_mem_restored');

afterAll(async () => {
  await dropDb(db);
  await dropDb(restored);
});

describe('postgres source: memory', () => {
  it('streams a ~200 MB table dump with bounded RSS', async () => {
    const source = createPostgresSource('mem', postgresSourceSchema.parse({ type: 'postgres', url: dbUrl(db), jobs: 2, globals: false }));
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    let bytes = 0;
    for await (const part of source.dump(new AbortController().signal)) {
      for await (const chunk of part.open?.() ?? []) {
        bytes += (chunk as Uint8Array).length;
        peak = Math.max(peak, process.memoryUsage().rss);
      }
    }
    const growth = peak - baseline;
    console.log(`dumped ${(bytes / 2 ** 20).toFixed(0)} MiB, RSS growth ${(growth / 2 ** 20).toFixed(1)} MiB`);
    expect(bytes).toBeGreaterThan(180 * 2 ** 20);
    expect(growth).toBeLessThan(64 * 2 ** 20);
  });

  it('restores it with bounded RSS (parts are written to disk as they stream in)', async () => {
    const source = createPostgresSource('mem', postgresSourceSchema.parse({ type: 'postgres', url: dbUrl(db), jobs: 2, globals: false }));
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      const result = await roundTrip(source, dbUrl(restored));
      expect(result.bytes).toBeGreaterThan(180 * 2 ** 20);
    } finally {
      clearInterval(timer);
    }
    const growth = peak - baseline;
    console.log(`restored, RSS growth ${(growth / 2 ** 20).toFixed(1)} MiB`);
    const [row] = await sql<{ n: string }>(restored, 'SELECT count(*) AS n FROM big');
    expect(row?.n).toBe('1200000');
    expect(growth).toBeLessThan(64 * 2 ** 20);
  });
});
