import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWorkspace, type Workspace } from '../helpers/cli.js';
import { treeDigest } from '../helpers/source-roundtrip.js';
import { writeSampleTree } from '../helpers/tree.js';

describe('reprise CLI: a files source from init to restore', () => {
  let ws: Workspace;
  let data: string;

  beforeAll(async () => {
    ws = makeWorkspace('sources:\n  site:\n    type: files\n    path: ./data\n    exclude: ["*.tmp"]\n');
    data = path.join(ws.dir, 'data');
    writeSampleTree(data);
    writeFileSync(path.join(data, 'skip.tmp'), 'excluded');
    const init = await ws.run('init', '--json');
    expect(init.code, init.stderr).toBe(0);
  });
  afterAll(() => ws.cleanup());

  it('backs up, lists with the documented JSON fields, and restores identical content', async () => {
    const backup = await ws.run('backup', '--json');
    expect(backup.code, backup.stderr + backup.stdout).toBe(0);
    const [snap] = backup.json.snapshots;
    expect(snap.files).toBeGreaterThan(60);
    expect(snap.bytesRead).toBeGreaterThan(5 * 1024 * 1024);
    expect(snap.bytesAdded).toBeGreaterThan(3 * 1024 * 1024); // the random blob cannot shrink
    expect(snap.bytesAdded).toBeLessThan(snap.bytesRead);

    const list = await ws.run('snapshots', '--json');
    expect(list.code).toBe(0);
    expect(list.json).toHaveLength(1);
    expect(list.json[0]).toMatchObject({ id: snap.snapshot, source: 'site' });
    expect(new Date(list.json[0].time).toISOString()).toBe(list.json[0].time);
    expect(list.json[0].size).toBe(snap.size);
    expect(list.json[0].added).toBeGreaterThan(0);

    const target = path.join(ws.dir, 'restored');
    const restore = await ws.run('restore', 'site', '--to', target, '--json');
    expect(restore.code, restore.stderr).toBe(0);
    const expected = (await treeDigest(data)).filter((e) => e.path !== 'skip.tmp' && e.path !== '.');
    expect((await treeDigest(target)).filter((e) => e.path !== '.')).toEqual(expected);
  });

  it('stores only what changed on the next backup and skips unchanged files', async () => {
    writeFileSync(path.join(data, 'docs/file-5.txt'), 'changed content\n');
    const second = await ws.run('backup', '--json');
    expect(second.code, second.stderr).toBe(0);
    const [snap] = second.json.snapshots;
    expect(snap.filesUnchanged).toBe(snap.files - 1);
    expect(snap.bytesAdded).toBeLessThan(200 * 1024);
  });

  it('refuses a non-empty target without --force, and with --force takes a safety snapshot first', async () => {
    const target = path.join(ws.dir, 'busy');
    mkdirSync(target);
    writeFileSync(path.join(target, 'precious.txt'), 'do not lose me');
    const refused = await ws.run('restore', 'site', '--to', target, '--json');
    expect(refused.code).toBe(15);
    expect(refused.json.error.code).toBe('REPRISE_TARGET_NOT_EMPTY');
    expect(readFileSync(path.join(target, 'precious.txt'), 'utf8')).toBe('do not lose me');

    const forced = await ws.run('restore', 'site', '--to', target, '--force', '--json');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.json.safetySnapshot).toMatch(/^[0-9a-f]{64}$/);
    const list = await ws.run('snapshots', '--json');
    const safety = list.json.find((s: { id: string }) => s.id === forced.json.safetySnapshot);
    expect(safety.tags).toContain('safety');
    // The safety snapshot holds what was there: restore it and find the precious file.
    const back = path.join(ws.dir, 'from-safety');
    const restoreSafety = await ws.run('restore', 'site', '--snapshot', safety.id.slice(0, 12), '--to', back);
    expect(restoreSafety.code, restoreSafety.stderr).toBe(0);
    expect(readFileSync(path.join(back, 'precious.txt'), 'utf8')).toBe('do not lose me');
  });

  it('prints human output with sizes and a table', async () => {
    const list = await ws.run('snapshots');
    expect(list.stdout).toMatch(/ID\s+TIME \(UTC\)\s+SOURCE/);
    expect(list.stdout).toMatch(/MiB/);
    const stats = await ws.run('stats', '--json');
    expect(stats.code).toBe(0);
    expect(stats.json.dedupRatio).toBeGreaterThan(1.5);
  });

  it('forget --dry-run explains why each snapshot is kept and removes nothing', async () => {
    const dry = await ws.run('forget', '--keep-last', '1', '--dry-run', '--json');
    expect(dry.code, dry.stderr).toBe(0);
    const plan = dry.json.plans.find((p: { source: string }) => p.source === 'site');
    expect(plan.keep).toHaveLength(1);
    expect(plan.keep[0].reasons[0]).toMatch(/last 1/);
    expect(plan.remove.length).toBeGreaterThanOrEqual(1);
    const list = await ws.run('snapshots', '--json');
    expect(list.json.length).toBeGreaterThanOrEqual(3);

    const real = await ws.run('forget', '--keep-last', '1', '--prune', '--json');
    expect(real.code, real.stderr).toBe(0);
    const after = await ws.run('snapshots', '--source', 'site', '--json');
    // Safety snapshots are never chosen by retention.
    expect(after.json.filter((s: { tags: string[] }) => !s.tags.includes('safety'))).toHaveLength(1);
    const check = await ws.run('check', '--read-data', '--json');
    expect(check.code, check.stdout).toBe(0);
    const target = path.join(ws.dir, 'after-prune');
    expect((await ws.run('restore', 'site', '--to', target)).code).toBe(0);
    expect(readFileSync(path.join(target, 'docs/file-5.txt'), 'utf8')).toBe('changed content\n');
  });
});
