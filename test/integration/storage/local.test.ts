import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/storage/local/index.js';
import { collect, failureKind, sha256 } from './conformance.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WRITER = fileURLToPath(new URL('./fixtures/put-forever.ts', import.meta.url));
const VITE_NODE = join(REPO_ROOT, 'node_modules', '.bin', 'vite-node');

let dir: string;
let root: string;
let backend: LocalBackend;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reprise-local-only-'));
  root = join(dir, 'repo');
  backend = new LocalBackend(root);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every file under `path`, temp files included, relative with `/`. */
async function filesOnDisk(path: string): Promise<string[]> {
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(path.length + 1));
}

/** Runs the writer child, kills it with SIGKILL shortly after it starts its third put. */
async function killWriterMidPut(into: string): Promise<{ expected: Map<string, string>; interrupted: string }> {
  const child = spawn(VITE_NODE, [WRITER, into], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const expected = new Map<string, string>();
  let interrupted = '';
  let done = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    const [what, key = '', hash = ''] = line.split(' ');
    if (what === 'start') {
      expected.set(key, hash);
      interrupted = key;
      if (done >= 2) {
        // Give the put a moment to be inside write/fsync, then pull the plug.
        await new Promise((r) => setTimeout(r, 15));
        child.kill('SIGKILL');
        break;
      }
    } else if (what === 'done') done++;
  }
  await exited;
  return { expected, interrupted };
}

describe('LocalBackend (local only)', () => {
  it('leaves no partial object under the final name when the writer is killed -9 mid-put', async () => {
    let sawTempLeftover = false;
    for (let attempt = 0; attempt < 4 && !sawTempLeftover; attempt++) {
      const into = join(dir, `crash-${attempt}`);
      const { expected, interrupted } = await killWriterMidPut(into);
      const crashed = new LocalBackend(into);
      const listed = await collect(crashed.list(''));
      // Every listed object is whole: its content is exactly what the writer meant to store.
      for (const { key } of listed) expect(sha256(await crashed.get(key)), key).toBe(expected.get(key));
      const onDisk = await filesOnDisk(into);
      const temps = onDisk.filter((f) => f.split('/').pop()?.startsWith('.tmp-'));
      if (temps.length > 0) {
        sawTempLeftover = true;
        // The kill landed inside the put: the half-written temp file is there but invisible.
        expect(await crashed.stat(interrupted)).toBeUndefined();
        expect(listed.map((e) => e.key)).not.toContain(interrupted);
        expect(await failureKind(crashed.get(interrupted))).toBe('not_found');
      }
      expect(listed.length).toBeGreaterThanOrEqual(2);
    }
    expect(sawTempLeftover, 'no kill landed mid-put in 4 attempts').toBe(true);
  });

  it('does not list temp files, wherever they are', async () => {
    await backend.put('data/ab/pack1', new Uint8Array([1, 2, 3]));
    await writeFile(join(root, '.tmp-0123'), 'partial');
    await writeFile(join(root, 'data', 'ab', '.tmp-4567'), 'partial');
    await mkdir(join(root, 'data', '.tmp-dir'), { recursive: true });
    await writeFile(join(root, 'data', '.tmp-dir', 'x'), 'partial');
    expect((await collect(backend.list(''))).map((e) => e.key)).toEqual(['data/ab/pack1']);
    expect((await collect(backend.list('data/ab/'))).map((e) => e.key)).toEqual(['data/ab/pack1']);
  });

  it('leaves no temp file behind after successful, refused and aborted puts', async () => {
    await backend.put('k/one', new Uint8Array(10));
    await backend.put('k/one', new Uint8Array(20));
    await backend.put('k/two', new Uint8Array(10), { createOnly: true });
    expect(await failureKind(backend.put('k/two', new Uint8Array(5), { createOnly: true }))).toBe('exists');
    const ac = new AbortController();
    const aborted = backend.put('k/three', new Uint8Array(64 * 1024 * 1024), { signal: ac.signal });
    ac.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect((await filesOnDisk(root)).sort()).toEqual(['k/one', 'k/two']);
    expect((await stat(join(root, 'k', 'one'))).size).toBe(20);
  });

  it('maps a key under an existing object (ENOTDIR) and an object over a folder (EISDIR) to clear errors', async () => {
    await backend.put('file', new Uint8Array([1]));
    expect(await failureKind(backend.put('file/child', new Uint8Array([2])))).toBe('fatal');
    expect(await backend.stat('file/child')).toBeUndefined();
    expect(await failureKind(backend.get('file/child'))).toBe('not_found');
    await backend.delete('file/child');

    await backend.put('folder/child', new Uint8Array([3]));
    expect(await failureKind(backend.put('folder', new Uint8Array([4])))).toBe('fatal');
    expect(await failureKind(backend.put('folder', new Uint8Array([4]), { createOnly: true }))).toBe('exists');
    expect(await backend.stat('folder')).toBeUndefined();
    expect(await failureKind(backend.get('folder'))).toBe('not_found');
    expect(sha256(await backend.get('folder/child'))).toBe(sha256(new Uint8Array([3])));
  });

  it('rejects keys that would escape the root or hide as temp files', async () => {
    for (const key of ['', '../escape', 'a/../../escape', '/abs', 'a//b', 'a/./b', 'trailing/', '.tmp-x', 'a/.tmp-y', 'back\\slash']) {
      expect(await failureKind(backend.put(key, new Uint8Array([1]))), JSON.stringify(key)).toBe('fatal');
    }
    expect(await filesOnDisk(dir)).toEqual([]);
  });

  it('maps a write refused by the file system (EPERM/EACCES) to permission', async (ctx) => {
    await backend.put('locked/a', new Uint8Array([1]));
    const folder = join(root, 'locked');
    // Root ignores mode bits, so as root make the folder immutable instead.
    const asRoot = process.getuid?.() === 0;
    const lock = asRoot ? spawnSync('chattr', ['+i', folder]) : spawnSync('chmod', ['0500', folder]);
    if (lock.status !== 0) ctx.skip(`cannot make a read-only folder here (${asRoot ? 'chattr +i' : 'chmod'} failed: ${lock.stderr})`);
    try {
      expect(await failureKind(backend.put('locked/b', new Uint8Array([2])))).toBe('permission');
      expect(await failureKind(backend.delete('locked/a'))).toBe('permission');
      expect(sha256(await backend.get('locked/a'))).toBe(sha256(new Uint8Array([1])));
    } finally {
      spawnSync(asRoot ? 'chattr' : 'chmod', asRoot ? ['-i', folder] : ['0700', folder]);
    }
  });
});
