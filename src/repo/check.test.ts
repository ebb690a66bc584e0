import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
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
});
