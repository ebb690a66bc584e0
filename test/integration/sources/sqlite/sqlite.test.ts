import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { isRepriseError, type ErrorCode } from '../../../../src/core/errors.js';
import { createSqliteSource } from '../../../../src/sources/sqlite/index.js';
import type { SourceInfo } from '../../../../src/sources/source.js';
import { roundTrip } from '../../../helpers/source-roundtrip.js';
import { collectDump, replay } from '../mysql/pipe.js';

const dir = mkdtempSync(join(tmpdir(), 'rp-sqlite-test-'));
// The source's private copies go under TMPDIR: a TMPDIR of our own so that other test files
// running at the same time cannot make the "nothing left behind" checks flaky.
const ownTmp = mkdtempSync(join(tmpdir(), 'rp-sqlite-tmp-'));
const savedTmp = process.env.TMPDIR;
process.env.TMPDIR = ownTmp;
afterAll(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  rmSync(dir, { recursive: true, force: true });
  rmSync(ownTmp, { recursive: true, force: true });
});
const signal = () => new AbortController().signal;
const writerScript = fileURLToPath(new URL('./writer.mjs', import.meta.url));

async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(isRepriseError(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
}

function reprisTmpFiles(): string[] {
  expect(tmpdir()).toBe(ownTmp);
  return readdirSync(ownTmp).filter((f) => f.startsWith('reprise-sqlite-'));
}

function startWriter(path: string, mode: string): Promise<{ stop: () => Promise<number> }> {
  const child = spawn(process.execPath, [writerScript, path, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise<number>((done) => child.once('exit', () => done(Number(/last (\d+)/.exec(out)?.[1] ?? -1))));
  const stop = (): Promise<number> => {
    child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolveReady, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolveReady({ stop });
    });
    child.once('error', reject);
  });
}

function rowsOf(path: string): { n: number; min: number; max: number; badPayload: number } {
  const db = new Database(path, { readonly: true });
  db.pragma('busy_timeout = 10000');
  try {
    const r = db.prepare('SELECT COUNT(*) AS n, MIN(id) AS min, MAX(id) AS max FROM events').get() as { n: number; min: number; max: number };
    const bad = db.prepare("SELECT COUNT(*) AS n FROM events WHERE payload <> 'row ' || id || ' ' || substr(printf('%.200c', 'p'), 1, id % 200)").get() as { n: number };
    return { ...r, badPayload: bad.n };
  } finally {
    db.close();
  }
}

describe.each(['wal', 'delete'])('sqlite source (journal_mode=%s)', (mode) => {
  it('takes a consistent online copy while a writer keeps inserting, and restores it', async () => {
    const path = join(dir, `app-${mode}.db`);
    const writer = await startWriter(path, mode);
    try {
      // Let the writer build some history, then back up while it keeps writing.
      while (!existsSync(path) || rowsOf(path).n < 5_000) await new Promise((r) => setTimeout(r, 50));
      const atStart = rowsOf(path).n;
      const source = createSqliteSource('app', { type: 'sqlite', path: `app-${mode}.db` } as never, dir);
      const info = await source.inspect(signal());
      expect(info.versions.sqlite).toMatch(/^3\./);
      expect(info.facts).toMatchObject({ journalMode: mode, pageSize: 4096 });

      const target = join(dir, `restored-${mode}.db`);
      const res = await roundTrip(source, target);
      expect(res.parts).toBe(1);
      const last = await writer.stop();

      const restored = rowsOf(target);
      // A prefix of the writer's rows with no gap, taken while it was writing.
      expect(restored.min).toBe(1);
      expect(restored.max).toBe(restored.n);
      expect(restored.n).toBeGreaterThanOrEqual(atStart);
      expect(restored.n).toBeLessThan(last);
      expect(restored.badPayload).toBe(0);
      const verified = await source.verify(target, signal());
      expect(verified.ok).toBe(true);
      expect(verified.measurements).toMatchObject({ integrity: 'ok', rows: { events: restored.n } });
      expect(reprisTmpFiles()).toEqual([]);
      expect(readdirSync(dir).filter((f) => f.includes('.reprise-'))).toEqual([]);
    } finally {
      await writer.stop().catch(() => undefined);
    }
  });
});

describe('sqlite source failures', () => {
  const info: SourceInfo = { kind: 'sqlite', location: '', versions: {}, facts: {} };

  it('refuses a non-empty target without force, leaving it unchanged; force replaces it and drops stale -wal', async () => {
    const src = join(dir, 'small.db');
    const db = new Database(src);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); INSERT INTO t VALUES (1, randomblob(5000)), (2, 'two');");
    db.close();
    const source = createSqliteSource('small', { type: 'sqlite', path: src } as never, '/');
    const parts = await collectDump(source.dump(signal()));
    expect([...parts.keys()]).toEqual(['small.db']);

    const target = join(dir, 'existing.db');
    writeFileSync(target, 'precious bytes');
    await expectCode(source.restore(replay(parts), { target, force: false, info, signal: signal() }), 'REPRISE_TARGET_NOT_EMPTY');
    expect(readFileSync(target, 'utf8')).toBe('precious bytes');

    writeFileSync(`${target}-wal`, 'stale wal of the old database');
    await source.restore(replay(parts), { target, force: true, info, signal: signal() });
    expect(existsSync(`${target}-wal`)).toBe(false);
    expect((await source.verify(target, signal())).measurements).toMatchObject({ integrity: 'ok', rows: { t: 2 } });
    expect(readFileSync(target).equals(parts.get('small.db') as Buffer)).toBe(true);
  });

  it('removes its private copy when the consumer abandons the dump', async () => {
    const src = join(dir, 'abandon.db');
    const db = new Database(src);
    db.exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('x');");
    db.close();
    const it = createSqliteSource('a', { type: 'sqlite', path: src } as never, '/').dump(signal())[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    expect(reprisTmpFiles()).toHaveLength(1);
    await it.return?.();
    expect(reprisTmpFiles()).toEqual([]);
  });

  it('rejects a damaged file before it takes the target name', async () => {
    const src = join(dir, 'tobreak.db');
    const db = new Database(src);
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX tv ON t(v);');
    const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) ins.run(`value ${i}`);
    })();
    db.close();
    const parts = await collectDump(createSqliteSource('b', { type: 'sqlite', path: src } as never, '/').dump(signal()));
    const bytes = Buffer.from(parts.get('tobreak.db') as Buffer);
    bytes.fill(0x5a, 4096 * 2, 4096 * 2 + 3000); // scribble over a b-tree page
    const target = join(dir, 'never.db');
    await expectCode(createSqliteSource('b', { type: 'sqlite', path: src } as never, '/').restore(replay(new Map([['tobreak.db', bytes]])), { target, force: false, info, signal: signal() }), 'REPRISE_INTEGRITY');
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.reprise-'))).toEqual([]);
  });

  it('reports a missing file, a non-database and an unreadable file', async () => {
    await expectCode(createSqliteSource('m', { type: 'sqlite', path: 'nope.db' } as never, dir).inspect(signal()), 'REPRISE_SOURCE_NOT_FOUND');
    await expectCode(collectDump(createSqliteSource('m', { type: 'sqlite', path: 'nope.db' } as never, dir).dump(signal())), 'REPRISE_SOURCE_NOT_FOUND');
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not a database, just text long enough to have a header'.repeat(100));
    await expectCode(createSqliteSource('j', { type: 'sqlite', path: junk } as never, '/').inspect(signal()), 'REPRISE_SOURCE_UNREADABLE');
    await expectCode(collectDump(createSqliteSource('j', { type: 'sqlite', path: junk } as never, '/').dump(signal())), 'REPRISE_SOURCE_UNREADABLE');
    if (process.getuid?.() !== 0) {
      const locked = join(dir, 'locked.db');
      writeFileSync(locked, '');
      chmodSync(locked, 0);
      await expectCode(createSqliteSource('l', { type: 'sqlite', path: locked } as never, '/').inspect(signal()), 'REPRISE_SOURCE_UNREADABLE');
    }
    expect(reprisTmpFiles()).toEqual([]);
  });
});
