import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRepriseError } from '../../../src/core/errors.js';
import { currentProcess, type ProcessIdentity } from '../../../src/core/process-identity.js';
import type { Catalog, RunKind, RunStatus } from '../../../src/catalog/catalog.js';

/** One fresh, empty catalog store (a SQLite file, a PostgreSQL schema) and ways to look inside it. */
export interface CatalogHarness {
  /** A new Catalog instance on this store (as another agent would open it). */
  open(): Promise<Catalog>;
  /** The figures of run `id` exactly as stored, as text. */
  storedFigures(id: string): Promise<string>;
  /** The rows of schema_migrations, oldest first. */
  migrations(): Promise<Array<{ version: number; appliedAt: string }>>;
  /** Marks the store as migrated by a newer build. */
  addFutureMigration(version: number): Promise<void>;
  /** Rewrites who recorded run `id` (another host; a null pid, as rows from before schema 3 have). */
  recordedBy(id: string, host: string, pid: number | null): Promise<void>;
  /** Drops the store. */
  cleanup(): Promise<void>;
}

const LATEST_VERSION = 3;

function expectCatalogError(err: unknown, pattern: RegExp): void {
  expect(isRepriseError(err, 'REPRISE_CATALOG'), String(err)).toBe(true);
  expect((err as Error).message).toMatch(pattern);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** The behaviour every Catalog implementation must show. Call inside a describe(). */
export function catalogConformance(makeHarness: () => Promise<CatalogHarness>): void {
  let harness: CatalogHarness;
  let catalog: Catalog;
  const opened: Catalog[] = [];
  const open = async (): Promise<Catalog> => {
    const c = await harness.open();
    opened.push(c);
    return c;
  };

  beforeEach(async () => {
    harness = await makeHarness();
    catalog = await open();
  });
  afterEach(async () => {
    for (const c of opened.splice(0)) await c.close();
    await harness.cleanup();
  });

  it('records a started run with its fields', async () => {
    const startedAt = new Date('2026-01-02T03:04:05.678Z');
    const id = await catalog.startRun({ kind: 'backup', subject: 'db', actor: 'me@here', figures: { bytes: 12 }, startedAt });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const [run] = await catalog.listRuns();
    expect(run).toEqual({
      id,
      kind: 'backup',
      subject: 'db',
      status: 'running',
      startedAt,
      finishedAt: null,
      host: hostname(),
      actor: 'me@here',
      figures: { bytes: 12 },
      error: null,
    });
  });

  it('defaults: subject and actor null, figures empty, started now', async () => {
    const before = Date.now();
    await catalog.startRun({ kind: 'check' });
    const run = await catalog.lastRun({});
    expect(run?.subject).toBeNull();
    expect(run?.actor).toBeNull();
    expect(run?.figures).toEqual({});
    expect(run!.startedAt.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(run!.startedAt.getTime()).toBeLessThanOrEqual(Date.now() + 1);
  });

  it('finishRun sets the end and merges figures, end values winning', async () => {
    const id = await catalog.startRun({ kind: 'restore', subject: 'db', figures: { a: 1, b: 1, nested: { x: 1 } } });
    const finishedAt = new Date(Date.now() + 5000);
    await catalog.finishRun(id, {
      status: 'failed',
      figures: { b: 2, c: [1, 2], nested: { y: 2 } },
      error: { code: 'REPRISE_TOOL_FAILED', message: 'pg_restore exited 1' },
      finishedAt,
    });
    const run = await catalog.lastRun({ subject: 'db' });
    expect(run?.status).toBe('failed');
    expect(run?.finishedAt).toEqual(finishedAt);
    expect(run?.figures).toEqual({ a: 1, b: 2, c: [1, 2], nested: { y: 2 } });
    expect(run?.error).toEqual({ code: 'REPRISE_TOOL_FAILED', message: 'pg_restore exited 1' });
  });

  it('finishRun is idempotent: the first finish wins, unknown ids are refused', async () => {
    const id = await catalog.startRun({ kind: 'backup', figures: { a: 1 } });
    const end = { status: 'ok' as const, figures: { b: 2 }, finishedAt: new Date(Date.now() + 1000) };
    await catalog.finishRun(id, end);
    await catalog.finishRun(id, end);
    await catalog.finishRun(id, { status: 'failed', figures: { b: 3, c: 4 }, error: { code: 'X', message: 'late' } });
    const run = await catalog.lastRun({});
    expect(run).toMatchObject({ status: 'ok', figures: { a: 1, b: 2 }, error: null, finishedAt: end.finishedAt });
    expectCatalogError(await rejection(catalog.finishRun('00000000-0000-4000-8000-000000000000', end)), /no run/);
    expectCatalogError(await rejection(catalog.finishRun('not-an-id', end)), /no run/);
  });

  describe('settleOrphans', () => {
    it('settles the running runs of this host whose process ended, and nothing else', async () => {
      const orphan = await catalog.startRun({ kind: 'backup', subject: 'db' });
      const done = await catalog.startRun({ kind: 'check' });
      await catalog.finishRun(done, { status: 'ok' });
      const elsewhere = await catalog.startRun({ kind: 'backup', subject: 'other-host' });
      await harness.recordedBy(elsewhere, 'elsewhere.example', 1);
      const legacy = await catalog.startRun({ kind: 'backup', subject: 'legacy' });
      await harness.recordedBy(legacy, hostname(), null);

      // Only this host's running runs with a recorded process are judged, by who recorded them.
      const judged: ProcessIdentity[] = [];
      const none = await catalog.settleOrphans((p) => {
        judged.push(p);
        return false;
      });
      expect(none).toBe(0);
      expect(judged).toEqual([currentProcess()]);
      // This process is alive, so by default nothing is settled either.
      expect(await catalog.settleOrphans()).toBe(0);
      expect((await catalog.lastRun({ subject: 'db' }))?.status).toBe('running');

      // Another agent on this host finds the process gone.
      const other = await open();
      expect(await other.settleOrphans(() => true)).toBe(1);
      expect(await catalog.settleOrphans(() => true)).toBe(0);
      const settled = await catalog.lastRun({ subject: 'db' });
      expect(settled).toMatchObject({ id: orphan, status: 'interrupted', finishedAt: null, error: { code: 'REPRISE_PROCESS_LOST' } });
      expect(settled?.error?.message).toContain(`process ${process.pid} on ${hostname()} ended without recording an outcome`);
      expect((await catalog.lastRun({ kind: 'check' }))?.status).toBe('ok');
      expect((await catalog.lastRun({ subject: 'other-host' }))?.status).toBe('running');
      expect((await catalog.lastRun({ subject: 'legacy' }))?.status).toBe('running');
    });

    it("the run's own finish replaces a settled orphan, and only then is final", async () => {
      const id = await catalog.startRun({ kind: 'backup', figures: { a: 1 } });
      expect(await catalog.settleOrphans(() => true)).toBe(1);
      const finishedAt = new Date(Date.now() + 1000);
      await catalog.finishRun(id, { status: 'ok', figures: { b: 2 }, finishedAt });
      await catalog.finishRun(id, { status: 'failed', error: { code: 'X', message: 'late' } });
      expect(await catalog.lastRun({})).toMatchObject({ status: 'ok', error: null, finishedAt, figures: { a: 1, b: 2 } });
    });
  });

  it('record stores a complete run in one call', async () => {
    const finishedAt = new Date('2026-03-01T10:00:00.000Z');
    const id = await catalog.record({ kind: 'killswitch', subject: 'app', status: 'ok', figures: { mode: 'read-only' }, finishedAt });
    const run = await catalog.lastRun({ kind: 'killswitch' });
    expect(run).toMatchObject({ id, status: 'ok', startedAt: finishedAt, finishedAt, figures: { mode: 'read-only' }, error: null });
    const startedAt = new Date('2026-03-01T09:59:00.000Z');
    await catalog.record({ kind: 'drill', status: 'warning', startedAt, finishedAt, error: { code: 'E', message: 'slow' } });
    expect(await catalog.lastRun({ kind: 'drill' })).toMatchObject({ startedAt, finishedAt, status: 'warning', error: { code: 'E', message: 'slow' } });
  });

  describe('listRuns', () => {
    const t0 = Date.parse('2026-05-01T00:00:00.000Z');
    const at = (minutes: number): Date => new Date(t0 + minutes * 60_000);
    const rows: Array<{ kind: RunKind; subject: string; status: Exclude<RunStatus, 'running'>; minute: number }> = [
      { kind: 'backup', subject: 'a', status: 'ok', minute: 0 },
      { kind: 'backup', subject: 'b', status: 'failed', minute: 1 },
      { kind: 'restore', subject: 'a', status: 'ok', minute: 2 },
      { kind: 'drill', subject: 'a', status: 'warning', minute: 3 },
      { kind: 'backup', subject: 'a', status: 'ok', minute: 4 },
      { kind: 'check', subject: 'b', status: 'ok', minute: 5 },
    ];
    const ids = new Map<number, string>();
    const minutesOf = (list: Array<{ id: string }>): number[] =>
      list.map((r) => [...ids.entries()].find(([, id]) => id === r.id)![0]);

    beforeEach(async () => {
      ids.clear();
      // Inserted out of time order: ordering must come from started_at, not insertion.
      for (const row of [...rows].reverse()) {
        ids.set(row.minute, await catalog.record({ kind: row.kind, subject: row.subject, status: row.status, startedAt: at(row.minute), finishedAt: at(row.minute) }));
      }
    });

    it('returns all runs newest first', async () => {
      expect(minutesOf(await catalog.listRuns())).toEqual([5, 4, 3, 2, 1, 0]);
    });
    it('filters by one kind, several kinds, and an empty list matches nothing', async () => {
      expect(minutesOf(await catalog.listRuns({ kind: 'backup' }))).toEqual([4, 1, 0]);
      expect(minutesOf(await catalog.listRuns({ kind: ['restore', 'drill'] }))).toEqual([3, 2]);
      expect(await catalog.listRuns({ kind: [] })).toEqual([]);
    });
    it('filters by subject and status', async () => {
      expect(minutesOf(await catalog.listRuns({ subject: 'b' }))).toEqual([5, 1]);
      expect(minutesOf(await catalog.listRuns({ status: 'ok', subject: 'a' }))).toEqual([4, 2, 0]);
      expect(minutesOf(await catalog.listRuns({ status: ['failed', 'warning'] }))).toEqual([3, 1]);
    });
    it('since is inclusive, until exclusive', async () => {
      expect(minutesOf(await catalog.listRuns({ since: at(2) }))).toEqual([5, 4, 3, 2]);
      expect(minutesOf(await catalog.listRuns({ until: at(2) }))).toEqual([1, 0]);
      expect(minutesOf(await catalog.listRuns({ since: at(1), until: at(4), kind: 'backup' }))).toEqual([1]);
    });
    it('limit keeps the newest', async () => {
      expect(minutesOf(await catalog.listRuns({ limit: 2 }))).toEqual([5, 4]);
      expect(await catalog.listRuns({ limit: 0 })).toEqual([]);
    });
    it('lastRun is the newest match or undefined', async () => {
      expect((await catalog.lastRun({ kind: 'backup', subject: 'a' }))?.id).toBe(ids.get(4));
      expect((await catalog.lastRun({ kind: 'backup', status: 'failed' }))?.id).toBe(ids.get(1));
      expect(await catalog.lastRun({ kind: 'prune' })).toBeUndefined();
    });
  });

  it('limit defaults to 100, and equal start times keep insertion order reversed', async () => {
    const startedAt = new Date('2026-06-01T00:00:00.000Z');
    const inserted: string[] = [];
    for (let i = 0; i < 103; i++) inserted.push(await catalog.record({ kind: 'check', status: 'ok', startedAt, figures: { i } }));
    const runs = await catalog.listRuns();
    expect(runs).toHaveLength(100);
    expect(runs.map((r) => r.id)).toEqual(inserted.reverse().slice(0, 100));
  });

  it('reopening keeps the data and applies no migration twice', async () => {
    const id = await catalog.startRun({ kind: 'backup', figures: { n: 1 } });
    const before = await harness.migrations();
    expect(before.map((m) => m.version)).toEqual(Array.from({ length: LATEST_VERSION }, (_, i) => i + 1));
    await catalog.close();
    const again = await open();
    expect((await again.lastRun({}))?.id).toBe(id);
    expect(await harness.migrations()).toEqual(before);
  });

  it('several instances opened at once migrate once and see each other', async () => {
    const fresh = await makeHarness();
    try {
      const catalogs = await Promise.all([fresh.open(), fresh.open(), fresh.open(), fresh.open()]);
      expect((await fresh.migrations()).map((m) => m.version)).toEqual(Array.from({ length: LATEST_VERSION }, (_, i) => i + 1));
      const id = await catalogs[0]!.startRun({ kind: 'backup' });
      await catalogs[3]!.finishRun(id, { status: 'ok' });
      expect((await catalogs[2]!.lastRun({}))?.status).toBe('ok');
      for (const c of catalogs) await c.close();
    } finally {
      await fresh.cleanup();
    }
  });

  it('refuses a catalog migrated by a newer build, with a hint to upgrade', async () => {
    await harness.addFutureMigration(LATEST_VERSION + 7);
    const err = await rejection(harness.open());
    expectCatalogError(err, /newer/);
    expect((err as { hint: string }).hint).toMatch(/upgrade/i);
  });

  it('never stores secrets in figures or error messages', async () => {
    const id = await catalog.startRun({
      kind: 'backup',
      figures: { password: 'hunter2', source: { url: 'postgres://u:hunter2@db/x', api_key: 'hunter2' }, bytes: 5 },
    });
    await catalog.finishRun(id, {
      status: 'failed',
      figures: { tokens: ['a'], token: 'hunter2' },
      error: { code: 'REPRISE_SOURCE_AUTH', message: 'login failed for postgres://u:hunter2@db/x' },
    });
    const stored = await harness.storedFigures(id);
    expect(stored).not.toContain('hunter2');
    const run = await catalog.lastRun({});
    expect(run?.figures).toEqual({ password: '***', source: { url: 'postgres://u:***@db/x', api_key: '***' }, bytes: 5, tokens: ['a'], token: '***' });
    expect(run?.error?.message).toBe('login failed for postgres://u:***@db/x');
  });

  it('stores bigints, dates and odd strings as JSON', async () => {
    const id = await catalog.record({
      kind: 'backup',
      status: 'ok',
      figures: { big: 2n ** 70n, small: 42n, when: new Date('2026-01-01T00:00:00.000Z'), nul: 'a\u0000b', unicode: 'é✓' },
    });
    const run = await catalog.lastRun({});
    expect(run?.id).toBe(id);
    expect(run?.figures).toEqual({ big: (2n ** 70n).toString(), small: 42, when: '2026-01-01T00:00:00.000Z', nul: 'a\uFFFDb', unicode: 'é✓' });
  });

  describe('withLock', () => {
    it('is exclusive across two instances and free again after release', async () => {
      const other = await open();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const first = catalog.withLock('job:nightly', async () => {
        entered();
        await gate;
        return 'first';
      });
      await inside;
      let secondRan = false;
      expect(await other.withLock('job:nightly', async () => (secondRan = true))).toBeUndefined();
      expect(secondRan).toBe(false);
      // Another name is another lock.
      expect(await other.withLock('job:weekly', async () => 'weekly')).toBe('weekly');
      release();
      expect(await first).toBe('first');
      expect(await other.withLock('job:nightly', async () => 'second')).toBe('second');
    });

    it('is released when fn throws, and the error passes through', async () => {
      const other = await open();
      const boom = new Error('boom');
      await expect(catalog.withLock('job:x', async () => Promise.reject(boom))).rejects.toBe(boom);
      expect(await other.withLock('job:x', async () => 7)).toBe(7);
    });

    it('is not re-entrant: a nested take of the same name gets undefined', async () => {
      const inner = await catalog.withLock('job:y', async () => catalog.withLock('job:y', async () => 'inner'));
      expect(inner).toBeUndefined();
    });
  });

  it('fails with REPRISE_CATALOG after close', async () => {
    await catalog.close();
    expectCatalogError(await rejection(catalog.startRun({ kind: 'backup' })), /catalog/);
    await catalog.close();
  });
}
