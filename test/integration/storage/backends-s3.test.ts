import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { S3Backend } from '../../../src/storage/s3/index.js';
import { startS3Server, type S3Server } from '../../helpers/s3-server.js';
import { describeBackendConformance } from './conformance.js';

// A real S3-protocol server over HTTP: s3rver as shipped, which ignores If-None-Match, so the
// backend must detect that and fall back to HEAD + PUT. backends-s3-conditional.test.ts runs the
// suite against s3rver taught If-None-Match (as AWS S3, MinIO and R2 behave), in parallel.
let plain: S3Server;
beforeAll(async () => {
  plain = await startS3Server();
});
afterAll(async () => {
  await plain?.stop();
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
