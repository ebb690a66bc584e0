import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { openBackend } from '../../../src/storage/open.js';
import { S3Backend } from '../../../src/storage/s3/index.js';
import { startS3Server, type S3Server } from '../../helpers/s3-server.js';
import { describeBackendConformance } from './conformance.js';

// Two real S3-protocol servers over HTTP: s3rver as shipped (ignores If-None-Match, so the backend
// must fall back to HEAD + PUT) and s3rver taught If-None-Match, as AWS S3, MinIO and R2 behave.
let plain: S3Server;
let conditional: S3Server;
beforeAll(async () => {
  [plain, conditional] = await Promise.all([startS3Server(), startS3Server({ conditionalWrites: true })]);
});
afterAll(async () => {
  await Promise.all([plain?.stop(), conditional?.stop()]);
});

const noop = async (): Promise<void> => undefined;
const prefix = (): string => `t-${randomBytes(4).toString('hex')}`;

describeBackendConformance(
  's3 (s3rver ignoring If-None-Match: HEAD + PUT fallback)',
  async () => ({
    backend: new S3Backend({ bucket: plain.bucket, prefix: prefix(), endpoint: plain.endpoint, credentials: plain.credentials }),
    cleanup: noop,
  }),
  { atomicCreateOnly: false },
);

describeBackendConformance('s3 (s3rver with If-None-Match) via openBackend (retry + concurrency)', async () => ({
  backend: openBackend(
    {
      url: `s3://${conditional.bucket}/${prefix()}`,
      endpoint: conditional.endpoint,
      access_key_id: conditional.credentials.accessKeyId,
      secret_access_key: conditional.credentials.secretAccessKey,
      connections: 8,
    },
    '/',
  ),
  cleanup: noop,
}));
