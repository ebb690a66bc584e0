import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repository } from '../../../src/repo/repository.js';
import type { ByteRange } from '../../../src/storage/backend.js';
import { S3Backend } from '../../../src/storage/s3/index.js';
import { startS3Server, type S3Server } from '../../helpers/s3-server.js';
import { backup, restoreHashes, sha, textLike } from './helpers.js';

let server: S3Server;
beforeAll(async () => {
  server = await startS3Server({ conditionalWrites: true });
});
afterAll(async () => {
  await server?.stop();
});

describe('repository on S3Backend (s3rver)', () => {
  it('backs up, restores by checksum (ranged reads), and passes check --read-data', async () => {
    const backend = new S3Backend({ bucket: server.bucket, prefix: 'repo', endpoint: server.endpoint, region: 'us-east-1', credentials: server.credentials });
    const repo = await Repository.init({ backend, password: 'pw', chunker: { avgSize: 1 << 16 } });
    try {
      const files = [
        { name: 'random.bin', data: randomBytes(3_000_000) },
        { name: 'dump.sql', data: textLike(3_000_000, 11) },
      ];
      const snap = await backup(repo, files);
      const reopened = await Repository.open({ backend, password: 'pw' });
      try {
        const hashes = await restoreHashes(reopened, snap.id);
        for (const f of files) expect(hashes[f.name]).toBe(sha(f.data));
        const report = await reopened.check({ readData: true });
        expect(report.errors).toEqual([]);
        expect(report.packsChecked).toBeGreaterThan(0);
      } finally {
        await reopened.close();
      }
    } finally {
      await repo.close();
      await backend.close();
    }
  });

  it('with a cache folder, the next open reads snapshot and index files from disk, not over HTTP', async () => {
    /** Counts the GETs of files the cache should keep. */
    class CountingS3 extends S3Backend {
      gets = 0;
      override async get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
        if (key.startsWith('snapshots/') || key.startsWith('index/')) this.gets++;
        return super.get(key, range, signal);
      }
    }
    const backend = new CountingS3({ bucket: server.bucket, prefix: 'cached', endpoint: server.endpoint, region: 'us-east-1', credentials: server.credentials });
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'reprise-s3-cache-'));
    const opened: Repository[] = [];
    try {
      const writer = await Repository.init({ backend, password: 'pw' });
      opened.push(writer);
      const data = [randomBytes(200_000), randomBytes(300_000)];
      const snaps = [await backup(writer, [{ name: 'a', data: data[0]! }]), await backup(writer, [{ name: 'a', data: data[1]! }])];

      backend.gets = 0;
      const first = await Repository.open({ backend, password: 'pw', cacheDir });
      opened.push(first);
      expect((await first.listSnapshots()).map((s) => s.id).sort()).toEqual(snaps.map((s) => s.id).sort());
      const fetched = backend.gets;
      expect(fetched).toBeGreaterThanOrEqual(4); // 2 snapshot files and at least 2 index files
      expect(readdirSync(path.join(cacheDir, first.id, 'snapshots')).sort()).toEqual(snaps.map((s) => s.id).sort());

      backend.gets = 0;
      const second = await Repository.open({ backend, password: 'pw', cacheDir });
      opened.push(second);
      expect((await second.listSnapshots()).map((s) => s.id).sort()).toEqual(snaps.map((s) => s.id).sort());
      expect((await restoreHashes(second, snaps[1]!.id)).a).toBe(sha(data[1]!));
      expect(backend.gets).toBe(0);
      // check reads them from the server again: they are what it verifies.
      expect((await second.check()).errors).toEqual([]);
      expect(backend.gets).toBe(fetched);
    } finally {
      for (const repo of opened) await repo.close();
      await backend.close();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
