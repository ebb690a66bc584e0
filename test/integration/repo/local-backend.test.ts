import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository } from '../../../src/repo/repository.js';
import { LocalBackend } from '../../../src/storage/local/index.js';
import { backup, pseudoRandomBlock, restoreHashes, sha, textLike } from './helpers.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'reprise-repo-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('repository on LocalBackend', () => {
  it('backs up and restores by checksum, dedups a second run, and passes check --read-data', async () => {
    const backend = new LocalBackend(tempDir());
    const repo = await Repository.init({ backend, password: 'pw', chunker: { avgSize: 1 << 16 } });
    try {
      const files = [
        { name: 'a/random.bin', data: randomBytes(5_000_000) },
        { name: 'a/text.sql', data: textLike(6_000_000, 3) },
        { name: 'empty', data: new Uint8Array(0) },
      ];
      const first = await backup(repo, files);
      const second = await backup(repo, files);
      expect(second.added).toBeLessThan(first.added / 100);
      const reopened = await Repository.open({ backend, password: 'pw' });
      try {
        const hashes = await restoreHashes(reopened, first.id);
        for (const f of files) expect(hashes[f.name]).toBe(sha(f.data));
        const report = await reopened.check({ readData: true });
        expect(report.errors).toEqual([]);
      } finally {
        await reopened.close();
      }
    } finally {
      await repo.close();
      await backend.close();
    }
  });

  it('after kill -9 mid-backup: no snapshot, check passes, the next backup dedups against indexed chunks', async () => {
    const dir = tempDir();
    const backend = new LocalBackend(dir);
    await (await Repository.init({ backend, password: 'pw', chunker: { avgSize: 1 << 16 } })).close();
    const seed = randomBytes(8).toString('hex');
    const child = spawn(
      join(fileURLToPath(new URL('../../../node_modules/.bin/vite-node', import.meta.url))),
      [fileURLToPath(new URL('./crash-child.ts', import.meta.url)), dir, seed],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Kill once an index file exists (a pack or more is indexed) and the child is mid-way through the next.
    const deadline = Date.now() + 25_000;
    const indexDir = join(dir, 'index');
    while (Date.now() < deadline && child.exitCode === null) {
      let files: string[] = [];
      try {
        files = readdirSync(indexDir).filter((f) => !f.startsWith('.'));
      } catch {
        // not created yet
      }
      if (files.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    await exited;
    expect(stderr).not.toMatch(/Error/);

    const repo = await Repository.open({ backend, password: 'pw' });
    try {
      expect(await repo.listSnapshots()).toEqual([]);
      const report = await repo.check({ readData: true });
      expect(report.errors).toEqual([]);
      const indexedChunks = repo.context.index.chunks.size;
      expect(indexedChunks).toBeGreaterThan(0);

      const writer = repo.newWriter({ signal: new AbortController().signal });
      const blocks = 24;
      async function* same(): AsyncIterable<Uint8Array> {
        for (let i = 0; i < blocks; i++) yield pseudoRandomBlock(seed, i);
      }
      const entry = await writer.addPart({ name: 'endless', type: 'file' }, same());
      await writer.commit({ source: 't', sourceKind: 'files', tags: [], info: { kind: 'files', location: 't', versions: {}, facts: {} } });
      expect(writer.stats.chunksDeduped).toBeGreaterThan(0);
      expect(entry.size).toBe(blocks << 20);
      const expected = sha(Buffer.concat(Array.from({ length: blocks }, (_, i) => pseudoRandomBlock(seed, i))));
      const [snap] = await repo.listSnapshots();
      expect((await restoreHashes(repo, snap!.id)).endless).toBe(expected);
      expect((await repo.check()).ok).toBe(true);
    } finally {
      await repo.close();
      await backend.close();
    }
  });
});
