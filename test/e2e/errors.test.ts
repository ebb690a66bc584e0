import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openCatalog } from '../../src/catalog/open.js';
import { makeWorkspace, runCli, type Workspace } from '../helpers/cli.js';
import { writeSampleTree } from '../helpers/tree.js';

const spaces: Workspace[] = [];
function workspace(body = 'sources:\n  site: { type: files, path: ./data }\n') {
  const ws = makeWorkspace(body);
  spaces.push(ws);
  return ws;
}
afterEach(() => {
  for (const ws of spaces.splice(0)) ws.cleanup();
});

describe('clear errors, stable exit codes, nothing changed', () => {
  it('a missing repository: exit 10 with a hint to run init', async () => {
    const ws = workspace();
    const r = await ws.run('snapshots');
    expect(r.code).toBe(10);
    expect(r.stderr).toMatch(/^error: .*repository/m);
    expect(r.stderr).toMatch(/^hint: .*reprise init/m);
    const j = await ws.run('snapshots', '--json');
    expect(j.json.error.code).toBe('REPRISE_REPO_NOT_FOUND');
  });

  it('init refuses an existing repository', async () => {
    const ws = workspace();
    expect((await ws.run('init')).code).toBe(0);
    const before = readdirSync(path.join(ws.dir, 'repo')).sort();
    const again = await ws.run('init', '--json');
    expect(again.code).toBe(1);
    expect(again.json.error.code).toBe('REPRISE_REPO_EXISTS');
    expect(readdirSync(path.join(ws.dir, 'repo')).sort()).toEqual(before);
  });

  it('a wrong password: exit 12, and the secret never printed', async () => {
    const ws = workspace();
    expect((await ws.run('init')).code).toBe(0);
    const r = await runCli(['-c', ws.config, 'snapshots', '--json'], { env: { TEST_REPRISE_PASSWORD: 'wrong-password-xyz' } });
    expect(r.code).toBe(12);
    expect(r.json.error.code).toBe('REPRISE_WRONG_PASSWORD');
    expect(r.stdout + r.stderr).not.toContain('wrong-password-xyz');
  });

  it('a missing environment variable names it, with file and line', async () => {
    const ws = workspace();
    const r = await runCli(['-c', ws.config, 'snapshots'], { env: { TEST_REPRISE_PASSWORD: undefined } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/reprise\.yaml:4:\d+: repository\.password: environment variable TEST_REPRISE_PASSWORD is not set/);
  });

  it('an invalid configuration names file, line and field; config check shows secrets redacted', async () => {
    const bad = workspace('sources:\n  site: { type: files, paht: ./data }\n');
    const r = await bad.run('config', 'check');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/reprise\.yaml:7:\d+: sources\.site\.path: required key is missing \(expected string\)/);
    expect(r.stderr).toMatch(/reprise\.yaml:7:\d+: sources\.site: unknown key\(s\) "paht"/);
    const good = workspace();
    const ok = await good.run('config', 'check', '--json');
    expect(ok.code).toBe(0);
    expect(ok.json.config.repository.password).toBe('***');
    expect(ok.stdout).not.toContain('correct horse');
  });

  it('an unknown source and a bad option are usage errors (exit 2)', async () => {
    const ws = workspace();
    expect((await ws.run('init')).code).toBe(0);
    const unknown = await ws.run('backup', 'nope', '--json');
    expect(unknown.code).toBe(2);
    expect(unknown.json.error.code).toBe('REPRISE_UNKNOWN_SOURCE');
    expect((await ws.run('check', '--read-data-subset', '300%')).code).toBe(2);
  });

  it('a missing source path fails the backup (exit 14) and writes no snapshot', async () => {
    const ws = workspace();
    expect((await ws.run('init')).code).toBe(0);
    const r = await ws.run('backup', '--json');
    expect(r.code).toBe(14);
    expect(r.json.error.code).toBe('REPRISE_SOURCE_UNREADABLE');
    expect((await ws.run('snapshots', '--json')).json).toEqual([]);
  });

  it('one failing source of two: the other is saved and the exit code says partial (3)', async () => {
    const ws = workspace('sources:\n  good: { type: files, path: ./data }\n  gone: { type: files, path: ./missing }\n');
    writeSampleTree(path.join(ws.dir, 'data'), { files: 3, blobBytes: 1000 });
    expect((await ws.run('init')).code).toBe(0);
    const r = await ws.run('backup', '--json');
    expect(r.code).toBe(3);
    expect(r.json.snapshots.map((s: { source: string }) => s.source)).toEqual(['good']);
    expect(r.json.failures[0]).toMatchObject({ source: 'gone', code: 'REPRISE_SOURCE_UNREADABLE' });
  });

  it('every command documents its exit codes in --help', async () => {
    for (const cmd of ['init', 'backup', 'snapshots', 'restore', 'check', 'forget', 'prune', 'copy', 'stats']) {
      const r = await runCli([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(/Exit codes:\n\s+0\s+success/);
    }
  });

  it('the catalog records every run with its outcome', async () => {
    const ws = workspace();
    writeSampleTree(path.join(ws.dir, 'data'), { files: 2, blobBytes: 100 });
    expect((await ws.run('init')).code).toBe(0);
    expect((await ws.run('backup')).code).toBe(0);
    expect((await ws.run('backup', 'nope')).code).toBe(2);
    expect(existsSync(path.join(ws.dir, 'catalog.db'))).toBe(true);
    const catalog = await openCatalog(path.join(ws.dir, 'catalog.db'), ws.dir);
    const runs = await catalog.listRuns({});
    await catalog.close();
    expect(runs.map((r) => [r.kind, r.subject, r.status]).reverse()).toEqual([
      ['init', null, 'ok'],
      ['backup', 'site', 'ok'],
    ]);
    expect(runs[0]!.figures).toMatchObject({ snapshot: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });
});
