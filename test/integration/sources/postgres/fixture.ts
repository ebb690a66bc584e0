import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';

/** Helpers for the postgres source tests: a real server on 127.0.0.1:5432, user postgres, trust auth. */

export const SERVER = 'postgres://postgres@127.0.0.1:5432';
const run = promisify(execFile);

export function dbUrl(db: string, user = 'postgres'): string {
  return `postgres://${user}@127.0.0.1:5432/${encodeURIComponent(db)}`;
}

export function randomName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(db: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: dbUrl(db) });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

export async function createDb(name: string, extra = ''): Promise<void> {
  await sql('postgres', `CREATE DATABASE "${name.replace(/"/g, '""')}" ${extra}`);
}

export async function dropDb(name: string): Promise<void> {
  await sql('postgres', `DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
}

/** A database with several schemas, advanced sequences, views, functions, triggers, jsonb, bytea, large objects. */
export const RICH_SCHEMA = `
CREATE SCHEMA app;
CREATE SCHEMA "Ünïcode schema";
CREATE TABLE app.customers (id serial PRIMARY KEY, name text NOT NULL, profile jsonb, avatar bytea, created timestamptz DEFAULT '2024-01-01');
INSERT INTO app.customers (name, profile, avatar)
  SELECT 'client ' || g || ' é漢', jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g % 7), 'nested', jsonb_build_object('x', g * 1.5)),
         decode(md5(g::text) || '00ff', 'hex')
    FROM generate_series(1, 800) g;
CREATE SEQUENCE app.invoice_no START 1000;
SELECT setval('app.invoice_no', 4242);
CREATE TABLE app.orders (id bigserial PRIMARY KEY, customer_id int REFERENCES app.customers(id), lines jsonb NOT NULL, updated timestamptz);
CREATE INDEX orders_lines ON app.orders USING gin (lines);
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated := '2025-05-05'; RETURN NEW; END $$;
CREATE TRIGGER orders_touch BEFORE INSERT OR UPDATE ON app.orders FOR EACH ROW EXECUTE FUNCTION app.touch();
INSERT INTO app.orders (customer_id, lines) SELECT 1 + g % 800, jsonb_build_array(jsonb_build_object('sku', 'S' || g, 'qty', g % 5)) FROM generate_series(1, 3000) g;
CREATE VIEW app.big_customers AS SELECT c.id, count(o.id) AS orders FROM app.customers c JOIN app.orders o ON o.customer_id = c.id GROUP BY c.id HAVING count(o.id) > 3;
CREATE FUNCTION "Ünïcode schema".add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
CREATE TABLE "Ünïcode schema"."Tâble ünï" (k text PRIMARY KEY, v numeric(12, 3), raw bytea);
INSERT INTO "Ünïcode schema"."Tâble ünï" VALUES ('ключ', 3.141, '\\x00010203fffe'), ('鍵', -2.5, NULL);
SELECT lo_from_bytea(0, convert_to(repeat('large object payload ', 2000), 'UTF8'));
SELECT lo_from_bytea(0, '\\xdeadbeef'::bytea);
COMMENT ON TABLE app.orders IS 'orders with jsonb lines';
`;

/**
 * `pg_dump -Fp -b` of a database with the lines that differ between two dumps of equal content
 * removed (`-- Dumped from/by`, `\\restrict` tokens), as a SHA-256 and the text.
 */
export async function plainDump(db: string): Promise<{ sha256: string; text: string }> {
  const { stdout } = await run('pg_dump', ['-Fp', '-b', '--no-password', `--dbname=${dbUrl(db)}`], { maxBuffer: 256 * 1024 * 1024 });
  const text = stdout
    .split('\n')
    .filter((line) => !/^-- Dumped (from|by) /.test(line) && !/^\\(un)?restrict /.test(line))
    .join('\n');
  return { sha256: createHash('sha256').update(text).digest('hex'), text };
}
