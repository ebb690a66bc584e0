import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killChild, request, ROOT, waitFor, waitListening } from './helpers.js';

// The built CLI (npm test builds first), as an operator runs it.
const CLI = path.join(ROOT, 'dist/bin/reprise.js');
let dir: string;

async function reprise(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { cwd: dir });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'reprise-cli-ks-'));
  await writeFile(
    path.join(dir, 'reprise.yaml'),
    ['version: 1', 'project: t', 'repository:', '  url: ./repo', '  password: x', 'catalog: .reprise/catalog.db', 'killswitch:', '  store: .reprise/killswitch.json', '  bypass_token: op', ''].join('\n'),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('reprise killswitch', () => {
  it('enable, status --json, disable; each change recorded in the catalog with who and why', async () => {
    const enabled = await reprise('killswitch', 'enable', 'read_only', '--reason', 'schema migration', '--for', '30m', '--message', 'Saving paused', '--json');
    expect(enabled.code, enabled.stderr + enabled.stdout).toBe(0);
    const status = await reprise('killswitch', 'status', '--json');
    const json = JSON.parse(status.stdout);
    expect(Object.keys(json).sort()).toEqual(['by', 'message', 'mode', 'reason', 'since', 'until']);
    expect(json).toMatchObject({ mode: 'read_only', reason: 'schema migration', message: 'Saving paused' });
    expect(Date.parse(json.until) - Date.parse(json.since)).toBeGreaterThan(29 * 60_000);
    expect(json.by).toContain('@');

    expect((await reprise('killswitch', 'disable', '--reason', 'done')).code).toBe(0);
    expect(JSON.parse((await reprise('killswitch', 'status', '--json')).stdout).mode).toBe('off');
    const bad = await reprise('killswitch', 'enable', 'bogus', '--reason', 'x');
    expect(bad.code).not.toBe(0);

    const db = new Database(path.join(dir, '.reprise/catalog.db'), { readonly: true });
    const rows = db.prepare("SELECT * FROM runs WHERE kind = 'killswitch' ORDER BY started_at").all() as Array<Record<string, unknown>>;
    db.close();
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => JSON.parse(String(r.figures)).mode)).toEqual(['read_only', 'off']);
    expect(JSON.parse(String(rows[0]!.figures))).toMatchObject({ reason: 'schema migration' });
    expect(String(rows[0]!.actor)).toContain('@');
  });
});

describe('package export', () => {
  it('`reprise/app` resolves to the built library', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', "const m = await import('reprise/app'); console.log(Object.keys(m).sort().join(' '))"], { cwd: ROOT });
    for (const name of ['createHealth', 'createKillswitch', 'expressMiddleware', 'fastifyReprise', 'gracefulShutdown', 'honoMiddleware', 'withReprise', 'openModeStore']) {
      expect(stdout.split(' ').map((s) => s.trim())).toContain(name);
    }
  });
});

describe('reprise gate', () => {
  it('proxies to a Python upstream, applies the mode set by the CLI, stops cleanly on SIGTERM', async () => {
    await writeFile(path.join(dir, 'hello.txt'), 'hello from python\n');
    const upstream = await waitListening(spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', dir], { stdio: ['ignore', 'pipe', 'pipe'] }), /port (\d+)/);
    const port = await freePort();
    const gate = spawn(process.execPath, [CLI, 'gate', '--listen', `127.0.0.1:${port}`, '--upstream', `http://127.0.0.1:${upstream.port}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await waitListening(gate, /listening on http:\/\/127\.0\.0\.1:(\d+)/);
      expect(await request(`http://127.0.0.1:${port}/hello.txt`)).toMatchObject({ status: 200, text: 'hello from python\n' });
      expect((await reprise('killswitch', 'enable', 'maintenance', '--reason', 'gate e2e')).code).toBe(0);
      await waitFor(async () => (await request(`http://127.0.0.1:${port}/hello.txt`)).status === 503, 3000, 20);
      expect((await request(`http://127.0.0.1:${port}/hello.txt`, { headers: { 'x-reprise-bypass': 'op' } })).status).toBe(200);
      expect((await reprise('killswitch', 'disable')).code).toBe(0);
      await waitFor(async () => (await request(`http://127.0.0.1:${port}/hello.txt`)).status === 200, 3000, 20);
      const exited = new Promise<number | null>((r) => gate.once('exit', (code) => r(code)));
      gate.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      await killChild(gate);
      await upstream.kill();
    }
  });
});
