import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBackend } from '../../../src/storage/local/index.js';
import { MemoryBackend } from '../../../src/storage/memory/index.js';
import { openBackend } from '../../../src/storage/open.js';
import { describeBackendConformance } from './conformance.js';

// The S3 runs of the suite are in backends-s3.test.ts, so both files fit the time budget and run in parallel.

const noop = async (): Promise<void> => undefined;
const prefix = (): string => `t-${randomBytes(4).toString('hex')}`;

describeBackendConformance('memory', async () => ({ backend: new MemoryBackend(prefix()), cleanup: noop }));

describeBackendConformance('local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprise-local-'));
  return { backend: new LocalBackend(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describeBackendConformance('local via openBackend (retry wrapper)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprise-local-'));
  return { backend: openBackend({ url: 'repo' }, dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});
