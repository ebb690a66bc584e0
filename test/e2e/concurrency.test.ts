import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openCatalog } from '../../src/catalog/open.js';
import { PACK_TARGET_SIZE } from '../../src/repo/format.js';
import { makeWorkspace, spawnCli, type Workspace } from '../helpers/cli.js';
import { treeDigest } from '../helpers/source-roundtrip.js';
import { allFiles } from '../helpers/tree.js';

const spaces: Workspace[] = [];
afterEach(() => {
  for (const ws of spaces.splice(0)) ws.cleanup();
});

/** A tree big enough that a backup takes a moment (random data, many files). */
function bigTree(dir: string, megabytes: number, seed: string): void {
  for (let d = 0; d < 8; d++) {
    mkdirSync(path.join(dir, `d${d}`), { recursive: true });
    for (let f = 0; f < 8; f++) {
      writeFileSync(path.join(dir, `d${d}/${seed}-${f}.bin`), randomBytes(Math.floor((megabytes * 1024 * 1024) / 64)));
    }
  }
}

function waitExit(child: ReturnType<typeof spawnCli>): Promise<number> {
  return new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 137 : -1))));
}

describe('crashes and concurrent runs lose nothing', () => {
  it('kill -9 of a backup at several points: check passes and the next backup dedups what was stored', async () => {
    const ws = makeWorkspace('sources:\n  big: { type: files, path: ./data }\n');
    spaces.push(ws);
    bigTree(path.join(ws.dir, 'data'), 96, 'a');
    expect((await ws.run('init')).code).toBe(0);
    // Kill points: before anything is stored, after the first pack, after a few more.
    const packs = () => (existsSync(path.join(ws.dir, 'repo/data')) ? allFiles(path.join(ws.dir, 'repo/data')).length : 0);
    for (const point of [{ packs: 0, ms: 100 }, { packs: 1 }, { packs: 3 }]) {
      const child = spawnCli(['-c', ws.config, 'backup'], { cwd: ws.dir, env: ws.env });
      const exited = waitExit(child);
      const start = packs();
      const deadline = Date.now() + 20_000;
      if (point.ms) await new Promise((r) => setTimeout(r, point.ms));
      else while (packs() < start + (point.packs ?? 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      child.kill('SIGKILL');
      await exited;
      const check = await ws.run('check', '--read-data', '--json');
      expect(check.code, `after kill at ${JSON.stringify(point)}: ${check.stdout}${check.stderr}`).toBe(0);
      expect((await ws.run('snapshots', '--json')).json).toEqual([]);
    }
    const storedPacks = packs();
    expect(storedPacks).toBeGreaterThanOrEqual(3);
    // The killed runs left shared locks behind: they do not block another backup.
    const backup = await ws.run('backup', '--json');
    expect(backup.code, backup.stderr + backup.stdout).toBe(0);
    const [snap] = backup.json.snapshots;
    // Random data does not compress: what the killed runs stored is not uploaded again (each of
    // their packs holds at least half a pack's worth that is not: two killed runs may store the same chunk).
    expect(snap.bytesAdded).toBeLessThan(snap.bytesRead - ((storedPacks - 1) * PACK_TARGET_SIZE) / 2);
    const target = path.join(ws.dir, 'restored');
    expect((await ws.run('restore', 'big', '--to', target)).code).toBe(0);
    expect(await treeDigest(target)).toEqual(await treeDigest(path.join(ws.dir, 'data')));

    // The killed runs do not stay `running`: the next run settled them, end time unknown.
    const catalog = await openCatalog('catalog.db', ws.dir);
    const [last, ...killed] = await catalog.listRuns({ kind: 'backup' });
    await catalog.close();
    expect(last?.status).toBe('ok');
    // The first kill (at 100 ms) may land before the run was recorded.
    expect(killed.length).toBeGreaterThanOrEqual(2);
    for (const run of killed) {
      expect(run).toMatchObject({ status: 'interrupted', finishedAt: null, error: { code: 'REPRISE_PROCESS_LOST' } });
      expect(run.error?.message).toMatch(/^process \d+ on .+ ended without recording an outcome/);
    }
  });

  it('two backups at once into one repository both restore', async () => {
    const ws = makeWorkspace('sources:\n  one: { type: files, path: ./one }\n  two: { type: files, path: ./two }\n');
    spaces.push(ws);
    bigTree(path.join(ws.dir, 'one'), 24, 'one');
    bigTree(path.join(ws.dir, 'two'), 24, 'two');
    expect((await ws.run('init')).code).toBe(0);
    const [a, b] = await Promise.all([ws.run('backup', 'one', '--json'), ws.run('backup', 'two', '--json')]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect((await ws.run('check', '--read-data')).code).toBe(0);
    for (const name of ['one', 'two']) {
      const target = path.join(ws.dir, `restored-${name}`);
      expect((await ws.run('restore', name, '--to', target)).code).toBe(0);
      expect(await treeDigest(target)).toEqual(await treeDigest(path.join(ws.dir, name)));
    }
  });

  it('kill -9 of a restore mid-way: the target holds only the stage, and a forced restore removes it and finishes the job', async () => {
    const ws = makeWorkspace('sources:\n  big: { type: files, path: ./data }\n');
    spaces.push(ws);
    const data = path.join(ws.dir, 'data');
    bigTree(data, 128, 'r');
    expect((await ws.run('init')).code).toBe(0);
    expect((await ws.run('backup')).code).toBe(0);
    const target = path.join(ws.dir, 'restored');
    const child = spawnCli(['-c', ws.config, 'restore', 'big', '--to', target], { cwd: ws.dir, env: ws.env });
    const exited = waitExit(child);
    const written = () => (existsSync(target) ? allFiles(target) : []);
    const deadline = Date.now() + 20_000;
    while (written().length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGKILL');
    await exited;
    // Killed before the end: nothing under a final name, only the stage (a finished restore has none).
    const top = readdirSync(target);
    expect(top).toHaveLength(1);
    expect(top[0]).toMatch(/^\.reprise-restore-[0-9a-f]{12}$/);
    expect(written().length).toBeGreaterThan(0);
    const again = await ws.run('restore', 'big', '--to', target, '--force');
    expect(again.code, again.stderr).toBe(0);
    expect(await treeDigest(target)).toEqual(await treeDigest(data));
  });

  it('forget --prune while a backup runs: refused by the lock, and the backup restores afterwards', async () => {
    const ws = makeWorkspace('sources:\n  big: { type: files, path: ./data }\n');
    spaces.push(ws);
    bigTree(path.join(ws.dir, 'data'), 64, 'p');
    expect((await ws.run('init')).code).toBe(0);
    expect((await ws.run('backup')).code).toBe(0);
    bigTree(path.join(ws.dir, 'data/new'), 64, 'n');
    const running = spawnCli(['-c', ws.config, 'backup', '--json'], { cwd: ws.dir, env: ws.env });
    const runningExit = waitExit(running);
    let out = '';
    running.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Start forget once the backup holds its lock, so the two really overlap.
    const locks = path.join(ws.dir, 'repo/locks');
    const deadline = Date.now() + 20_000;
    // A lock is there once renamed into place (the temp file of its atomic write does not count).
    const held = () => existsSync(locks) && allFiles(locks).some((f) => !path.basename(f).startsWith('.tmp-'));
    while (!held() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    // Paused while forget runs (well within the lock's freshness), so the backup cannot finish first.
    running.kill('SIGSTOP');
    const forget = await ws.run('forget', '--keep-last', '1', '--prune', '--json').finally(() => running.kill('SIGCONT'));
    const code = await runningExit;
    expect(code).toBe(0);
    expect(forget.code, forget.stdout).toBe(11);
    expect(forget.json.error.code).toBe('REPRISE_REPO_LOCKED');
    expect(forget.json.error.message).toMatch(/lock/);
    expect((await ws.run('check', '--read-data')).code).toBe(0);
    const target = path.join(ws.dir, 'restored');
    const restore = await ws.run('restore', 'big', '--snapshot', JSON.parse(out).snapshots[0].snapshot, '--to', target);
    expect(restore.code, restore.stderr).toBe(0);
    expect(await treeDigest(target)).toEqual(await treeDigest(path.join(ws.dir, 'data')));
  });
});
