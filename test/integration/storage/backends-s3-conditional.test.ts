import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { openBackend } from '../../../src/storage/open.js';
import { startS3Server, type S3Server } from '../../helpers/s3-server.js';
import { describeBackendConformance } from './conformance.js';

// s3rver taught If-None-Match (as AWS S3, MinIO and R2 behave), reached through openBackend so the
// retry and concurrency wrappers are part of what is tested.
let conditional: S3Server;
beforeAll(async () => {
  conditional = await startS3Server({ conditionalWrites: true });
});
afterAll(async () => {
  await conditional?.stop();
});

const noop = async (): Promise<void> => undefined;
const prefix = (): string => `t-${randomBytes(4).toString('hex')}`;

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
