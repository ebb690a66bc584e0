import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repository } from '../../../src/repo/repository.js';
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
});
