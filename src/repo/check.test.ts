import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRepriseError } from '../core/errors.js';
import { StorageError, type Backend, type ByteRange, type ObjectInfo, type PutOptions } from '../storage/backend.js';
import { LocalBackend } from '../storage/local/index.js';
import { MemoryBackend } from '../storage/memory/index.js';
import { Repository } from './repository.js';
import { backup } from '../../test/integration/repo/helpers.js';

/** Passes calls to `inner`, counting whole-pack reads; can fail snapshot listings and point local file reads elsewhere. */
class ProbeBackend implements Backend {
  readonly location = 'probe';
  packReads = 0;
  failSnapshotList = false;
  fileSuffix: string | undefined;

  constructor(private readonly inner: Backend) {}

  put(key: string, body: Uint8Array, options?: PutOptions): Promise<void> {
    return this.inner.put(key, body, options);
  }

  get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    if (key.startsWith('data/') && range === undefined) this.packReads++;
    return this.inner.get(key, range, signal);
  }

  stat(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    return this.inner.stat(key, signal);
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    if (this.failSnapshotList && prefix.startsWith('snapshots')) throw new StorageError('transient', 'listing refused');
    yield* this.inner.list(prefix, signal);
  }

  delete(key: string, signal?: AbortSignal): Promise<void> {
    return this.inner.delete(key, signal);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  localFile(key: string): string | undefined {
    const path = this.inner.localFile?.(key);
    return path === undefined || this.fileSuffix === undefined ? path : path + this.fileSuffix;
  }
}

/** A repository with one pack per backup: `count` packs. */
async function repoWithPacks(backend: Backend, count: number): Promise<void> {
  const repo = await Repository.init({ backend, password: 'pw', workers: 2 });
  try {
    for (let i = 0; i < count; i++) await backup(repo, [{ name: `f${i}`, data: randomBytes(200_000) }]);
  } finally {
    await repo.close();
  }
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('check --read-data', () => {
  it('stops reading packs when the snapshot listing fails, and throws that failure', async () => {
    const probe = new ProbeBackend(new MemoryBackend());
    await repoWithPacks(probe, 8);
    const repo = await Repository.open({ backend: probe, password: 'pw', workers: 2 });
    try {
      probe.failSnapshotList = true;
      probe.packReads = 0;
      let caught: unknown;
      await repo.check({ readData: true }).catch((err: unknown) => (caught = err));
      expect(isRepriseError(caught, 'REPRISE_STORAGE'), String(caught)).toBe(true);
      expect(probe.packReads).toBeLessThan(8);
    } finally {
      await repo.close();
    }
  });

  it('reads a local pack through the backend when the worker cannot open its file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reprise-check-'));
    dirs.push(dir);
    const probe = new ProbeBackend(new LocalBackend(dir));
    await repoWithPacks(probe, 3);
    const repo = await Repository.open({ backend: probe, password: 'pw', workers: 2 });
    try {
      probe.packReads = 0;
      const direct = await repo.check({ readData: true });
      expect(direct.errors).toEqual([]);
      expect(direct.packsChecked).toBe(3);
      expect(probe.packReads).toBe(0); // the workers read the files themselves

      probe.fileSuffix = '.nowhere';
      const fallback = await repo.check({ readData: true });
      expect(fallback.errors).toEqual([]);
      expect(fallback.bytesChecked).toBe(direct.bytesChecked);
      expect(probe.packReads).toBe(3);
    } finally {
      await repo.close();
    }
  });

  describe('with the packs verified ahead, from the opening of the repository', () => {
    /** A local repository of `count` packs, and its pack files (path → id). */
    async function localPacks(count: number): Promise<{ dir: string; probe: ProbeBackend; packs: Map<string, string> }> {
      const dir = mkdtempSync(join(tmpdir(), 'reprise-check-ahead-'));
      dirs.push(dir);
      const probe = new ProbeBackend(new LocalBackend(dir));
      await repoWithPacks(probe, count);
      const packs = new Map<string, string>();
      for (const sub of readdirSync(join(dir, 'data'))) for (const id of readdirSync(join(dir, 'data', sub))) packs.set(join(dir, 'data', sub, id), id);
      return { dir, probe, packs };
    }

    async function checkAhead(probe: ProbeBackend, between?: (repo: Repository) => Promise<void>) {
      const repo = await Repository.open({ backend: probe, password: 'pw', workers: 2, verifyAhead: true });
      try {
        await between?.(repo);
        probe.packReads = 0;
        return await repo.check({ readData: true });
      } finally {
        await repo.close();
      }
    }

    it('passes an intact repository, reading every pack in the workers, and ignores a pack no index lists', async () => {
      const { dir, probe, packs } = await localPacks(4);
      // What an interrupted backup leaves: a pack file no index lists (here, not even a pack).
      mkdirSync(join(dir, 'data', 'ee'), { recursive: true });
      writeFileSync(join(dir, 'data', 'ee', 'ee'.padEnd(64, '0')), randomBytes(5000));
      const report = await checkAhead(probe);
      expect(report.errors).toEqual([]);
      expect(report.packsChecked).toBe(packs.size);
      expect(probe.packReads).toBe(0);
    });

    it('finds a flipped byte, and a pack stored under another pack\'s name', async () => {
      const { probe, packs } = await localPacks(3);
      const [[first, firstId], [second], [third, thirdId]] = [...packs] as [[string, string], [string, string], [string, string]];
      const bytes = readFileSync(first);
      bytes[100]! ^= 0x01;
      writeFileSync(first, bytes);
      copyFileSync(second, third);
      const report = await checkAhead(probe);
      expect(report.ok).toBe(false);
      expect(report.damagedPacks).toEqual([firstId, thirdId].sort());
      expect(report.errors).toContainEqual(expect.stringMatching(new RegExp(`^pack ${firstId}: chunk [0-9a-f]{64}: authentication failed$`)));
      expect(report.errors).toContainEqual(expect.stringMatching(new RegExp(`^pack ${thirdId}: header does not match the index`)));
      expect(report.affectedSnapshots).toHaveLength(2);
    });

    it('also verifies the packs stored after the read-ahead listed them', async () => {
      const { probe, packs } = await localPacks(2);
      const report = await checkAhead(probe, async (repo) => {
        await backup(repo, [{ name: 'late', data: randomBytes(200_000) }]);
      });
      expect(report.errors).toEqual([]);
      expect(report.packsChecked).toBe(packs.size + 1);
    });
  });
});
