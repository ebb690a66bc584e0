import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRepriseError } from '../../../../src/core/errors.js';
import { createPostgresSource } from '../../../../src/sources/postgres/index.js';
import { postgresSourceSchema } from '../../../../src/sources/postgres/schema.js';
import type { RestorePart, Source } from '../../../../src/sources/source.js';
import { roundTrip } from '../../../helpers/source-roundtrip.js';
import { createDb, dbUrl, dropDb, plainDump, randomName, RICH_SCHEMA, SERVER, sql } from './fixture.js';

const signal = new AbortController().signal;
const source = randomName('reprise_pg_ünï');
const created: string[] = [source];

function pgSource(config: Record<string, unknown>): Source {
  return createPostgresSource('db', postgresSourceSchema.parse({ type: 'postgres', jobs: 2, ...config }));
}

/** Dumps into memory (the test databases are small) so the source can be dropped before restoring. */
async function dumpToMemory(src: Source): Promise<{ parts: { name: string; data: Buffer; extra?: Record<string, unknown> }[] }> {
  const parts: { name: string; data: Buffer; extra?: Record<string, unknown> }[] = [];
  for await (const part of src.dump(signal)) {
    const chunks: Buffer[] = [];
    for await (const chunk of part.open?.() ?? []) chunks.push(Buffer.from(chunk as Uint8Array));
    parts.push({ name: part.name, data: Buffer.concat(chunks), ...(part.extra ? { extra: part.extra } : {}) });
  }
  return { parts };
}

async function* asRestoreParts(parts: { name: string; data: Buffer }[]): AsyncGenerator<RestorePart> {
  for (const part of parts) yield { name: part.name, type: 'file', size: part.data.length, content: () => [part.data] as unknown as AsyncIterable<Uint8Array> };
}

beforeAll(async () => {
  await createDb(source);
  await sql(source, RICH_SCHEMA);
});

afterAll(async () => {
  for (const db of created) await dropDb(db);
});

describe('postgres source: round trip', () => {
  it('inspect records what a restore needs', async () => {
    const info = await pgSource({ url: dbUrl(source) }).inspect(signal);
    expect(info.kind).toBe('postgres');
    expect(info.versions['server']).toMatch(/^\d+\.\d+/);
    expect(info.versions['pg_dump']).toMatch(/^\d+\.\d+/);
    expect(info.facts['format']).toBe('pg_dump-directory-v1');
    expect(info.facts['encoding']).toBe('UTF8');
    expect(info.facts['globals']).toBe('full');
    expect((info.facts['extensions'] as { name: string }[]).map((e) => e.name)).toContain('plpgsql');
    expect((info.facts['databases'] as { name: string }[]).map((d) => d.name)).toEqual([source]);
    expect(info.sizeBytes).toBeGreaterThan(1_000_000);
  });

  it('dumps one file part per pg_dump file and restores a database that pg_dump -Fp sees as identical', async () => {
    const target = randomName('reprise_pg_tgt');
    created.push(target);
    const src = pgSource({ url: dbUrl(source) });
    const names: string[] = [];
    for await (const part of src.dump(signal)) {
      names.push(part.name);
      for await (const _ of part.open?.() ?? []) void _;
    }
    expect(names[0]).toBe('globals.sql');
    // Table data comes first, read while pg_dump writes it; toc.dat once pg_dump has succeeded.
    expect(names).toContain(`${source}/toc.dat`);
    expect(names.some((n) => /\/\d+\.dat$/.test(n))).toBe(true);
    expect(names.some((n) => /\/blob_\d+\.dat$/.test(n))).toBe(true);

    const before = await plainDump(source);
    const result = await roundTrip(src, dbUrl(target));
    expect(result.location).toContain(encodeURIComponent(target));
    const after = await plainDump(target);
    expect(after.text).toContain('lo_create');
    expect(after.sha256).toBe(before.sha256);
    const [seq] = await sql<{ last_value: string }>(target, 'SELECT last_value FROM app.invoice_no');
    expect(seq?.last_value).toBe('4242');

    const verifySource = await src.verify(dbUrl(source), signal);
    const verifyTarget = await src.verify(dbUrl(target), signal);
    expect(verifyTarget.ok).toBe(true);
    expect(verifyTarget.measurements['rowCounts']).toEqual(verifySource.measurements['rowCounts']);
    expect((verifyTarget.measurements['rowCounts'] as Record<string, number>)['app.orders']).toBe(3000);
    expect(verifyTarget.measurements['largeObjects']).toBe(2);
  });

  it('refuses a non-empty target without force and leaves it untouched; restores over it with force', async () => {
    const target = randomName('reprise_pg_busy');
    created.push(target);
    await createDb(target);
    await sql(target, 'CREATE TABLE keep (x int); INSERT INTO keep VALUES (1), (2);');
    const src = pgSource({ url: dbUrl(source) });
    expect(await src.probeTarget(dbUrl(target), signal)).toMatchObject({ exists: true, empty: false });
    const before = await plainDump(target);
    const err = await roundTrip(src, dbUrl(target)).catch((e: unknown) => e);
    expect(isRepriseError(err, 'REPRISE_TARGET_NOT_EMPTY')).toBe(true);
    expect((err as { hint: string }).hint).toMatch(/--force/);
    expect((await plainDump(target)).sha256).toBe(before.sha256);

    await roundTrip(src, dbUrl(target), { force: true });
    const verify = await src.verify(dbUrl(target), signal);
    expect((verify.measurements['rowCounts'] as Record<string, number>)['app.customers']).toBe(800);
    // --clean drops what the dump holds; a table it does not know stays.
    expect((verify.measurements['rowCounts'] as Record<string, number>)['public.keep']).toBe(2);
  });

  it('probes a missing target as absent and empty', async () => {
    const src = pgSource({ url: dbUrl(source) });
    expect(await src.probeTarget(dbUrl(randomName('reprise_pg_none')), signal)).toMatchObject({ exists: false, empty: true });
  });

  it('backs up several databases in one run, with table filters, and restores them under their names', async () => {
    const a = randomName('reprise_pg_multi_a');
    const b = randomName('reprise_pg_multi_b');
    created.push(a, b);
    await createDb(a);
    await createDb(b, "ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
    await sql(a, "CREATE TABLE t (id int PRIMARY KEY, s text); INSERT INTO t SELECT g, 'a' || g FROM generate_series(1, 100) g; CREATE TABLE skip_me (x int); INSERT INTO skip_me VALUES (1);");
    await sql(b, "CREATE TABLE u (id int, s text); INSERT INTO u VALUES (1, 'café');");
    // jobs: 1 — pg_dump writes one table after the other: each followed file ends at its COPY terminator.
    const src = pgSource({ url: `${SERVER}/postgres`, databases: [a, b], exclude_tables: ['skip_me'], jobs: 1 });
    const info = await src.inspect(signal);
    expect((info.facts['databases'] as { name: string; encoding: string }[]).map((d) => [d.name, d.encoding])).toEqual([
      [a, 'UTF8'],
      [b, 'LATIN1'],
    ]);
    const { parts } = await dumpToMemory(src);
    expect(parts.filter((p) => p.name.endsWith('/toc.dat')).map((p) => p.name)).toEqual([`${a}/toc.dat`, `${b}/toc.dat`]);
    await sql(a, 'DROP TABLE skip_me');
    const dumpA = await plainDump(a);
    const dumpB = await plainDump(b);
    await dropDb(a);
    await dropDb(b);
    expect(await src.probeTarget(`${SERVER}/postgres`, signal)).toMatchObject({ exists: false, empty: true });

    const result = await src.restore(asRestoreParts(parts), { target: `${SERVER}/postgres`, force: false, info, signal });
    expect(result.location).toContain(a);
    expect((await plainDump(a)).sha256).toBe(dumpA.sha256);
    expect((await plainDump(b)).sha256).toBe(dumpB.sha256);
    const [enc] = await sql<{ e: string }>(b, 'SELECT pg_encoding_to_char(encoding) AS e FROM pg_database WHERE datname = current_database()');
    expect(enc?.e).toBe('LATIN1');
    const [row] = await sql<{ s: string }>(b, 'SELECT s FROM u');
    expect(row?.s).toBe('café');

    const again = await src.restore(asRestoreParts(parts), { target: `${SERVER}/postgres`, force: false, info, signal }).catch((e: unknown) => e);
    expect(isRepriseError(again, 'REPRISE_TARGET_NOT_EMPTY')).toBe(true);

    // The safety snapshot before a forced restore covers the databases that exist on the target, and only those.
    await dropDb(b);
    const safety = src.forTarget(`${SERVER}/postgres`);
    expect(((await safety.inspect(signal)).facts['databases'] as { name: string }[]).map((d) => d.name)).toEqual([a]);
    await src.restore(asRestoreParts(parts), { target: `${SERVER}/postgres`, force: true, info, signal });
    expect((await plainDump(a)).sha256).toBe(dumpA.sha256);
    expect((await plainDump(b)).sha256).toBe(dumpB.sha256);
  });

  it('saves globals without password hashes for a role that may not read pg_authid', async () => {
    const role = randomName('reprise_pg_role');
    const db = randomName('reprise_pg_owned');
    created.push(db);
    await sql('postgres', `CREATE ROLE ${role} LOGIN PASSWORD 'not-in-dump'`);
    try {
      await createDb(db, `OWNER ${role}`);
      await sql(db, `SET ROLE ${role}; CREATE TABLE mine (x int); INSERT INTO mine VALUES (7);`);
      const src = pgSource({ url: dbUrl(db, role) });
      const info = await src.inspect(signal);
      expect(info.facts['globals']).toBe('no-role-passwords');
      const { parts } = await dumpToMemory(src);
      const globals = parts.find((p) => p.name === 'globals.sql');
      expect(globals?.data.toString()).toContain(`CREATE ROLE ${role}`);
      expect(globals?.data.toString()).not.toMatch(/SCRAM-SHA-256|md5[0-9a-f]{32}/);
      const owner = "SELECT x, (SELECT tableowner FROM pg_tables WHERE tablename = 'mine') AS owner FROM mine";
      const kept = randomName('reprise_pg_owned_tgt');
      created.push(kept);
      const result = await src.restore(asRestoreParts(parts), { target: dbUrl(kept), force: false, info, signal });
      expect(result.location).not.toContain('owners not kept');
      expect(await sql(kept, owner)).toEqual([{ x: 7, owner: role }]);
      // Once the owning role is gone, the restore drops ownership instead of failing.
      await dropDb(kept);
      await dropDb(db);
      await sql('postgres', `DROP ROLE ${role}`);
      const orphan = randomName('reprise_pg_orphan');
      created.push(orphan);
      const restored = await src.restore(asRestoreParts(parts), { target: dbUrl(orphan), force: false, info, signal });
      expect(restored.location).toContain(`owners not kept (roles missing on target: ${role})`);
      expect(await sql(orphan, owner)).toEqual([{ x: 7, owner: 'postgres' }]);

      // restore_globals recreates the role first, so the owner is kept. The server is shared with
      // other tests: keep only this test's role in globals.sql, not every role the server had.
      const onlyOurRole = parts.map((p) =>
        p.name === 'globals.sql' ? { ...p, data: Buffer.from(p.data.toString().split('\n').filter((l) => l.includes(role)).join('\n')) } : p,
      );
      const withRoles = pgSource({ url: dbUrl(db, role), restore_globals: true });
      const regained = randomName('reprise_pg_regained');
      created.push(regained);
      try {
        const result = await withRoles.restore(asRestoreParts(onlyOurRole), { target: dbUrl(regained), force: false, info, signal });
        expect(result.location).not.toContain('owners not kept');
        expect(await sql(regained, owner)).toEqual([{ x: 7, owner: role }]);
      } finally {
        await dropDb(regained);
      }
    } finally {
      await dropDb(db);
      await sql('postgres', `DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    }
  });
});
