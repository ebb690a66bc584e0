import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repository } from '../../../../src/repo/repository.js';
import { createPostgresSource } from '../../../../src/sources/postgres/index.js';
import { postgresSourceSchema } from '../../../../src/sources/postgres/schema.js';
import { MemoryBackend } from '../../../../src/storage/memory/index.js';
import type { WriterStats } from '../../../../src/repo/api.js';
import type { Source } from '../../../../src/sources/source.js';
import { createDb, dbUrl, dropDb, randomName, sql } from './fixture.js';

const db = randomName('reprise_pg_dedup');

beforeAll(async () => {
  await createDb(db);
  await sql(db, `
    CREATE TABLE events (id int PRIMARY KEY, payload jsonb);
    INSERT INTO events SELECT g, jsonb_build_object('n', g, 'h', md5(g::text), 'r', md5((g * 7)::text)) FROM generate_series(1, 150000) g;
    CREATE TABLE customers (id int PRIMARY KEY, name text);
    INSERT INTO customers SELECT g, 'customer ' || md5(g::text) FROM generate_series(1, 50000) g;`);
});

afterAll(async () => {
  await dropDb(db);
});

async function backup(repo: Repository, source: Source): Promise<WriterStats> {
  const signal = new AbortController().signal;
  const info = await source.inspect(signal);
  const writer = repo.newWriter({ signal });
  for await (const part of source.dump(signal)) {
    const { open, ...meta } = part;
    await writer.addPart(meta, open?.());
  }
  await writer.commit({ source: 'db', sourceKind: 'postgres', tags: [], info });
  return writer.stats;
}

describe('postgres source: deduplication through the repository', () => {
  it('a second backup after appending 1% rows to one table stores a small fraction of the first', async () => {
    const repo = await Repository.init({ backend: new MemoryBackend(), password: 'pw', workers: 1 });
    try {
      const source = createPostgresSource('db', postgresSourceSchema.parse({ type: 'postgres', url: dbUrl(db), jobs: 2, globals: false }));
      const first = await backup(repo, source);
      await sql(db, `INSERT INTO events SELECT g, jsonb_build_object('n', g) FROM generate_series(150001, 151500) g`);
      const second = await backup(repo, source);
      console.log(`first: ${first.bytesRead} read, ${first.bytesAdded} added; second: ${second.bytesRead} read, ${second.bytesAdded} added, ${second.chunksDeduped} chunks deduplicated`);
      expect(second.bytesRead).toBeGreaterThan(first.bytesRead);
      expect(second.chunksDeduped).toBeGreaterThan(0);
      expect(second.bytesAdded).toBeLessThan(first.bytesAdded * 0.25);
    } finally {
      await repo.close();
    }
  });
});
