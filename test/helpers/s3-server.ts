import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface S3ServerOptions {
  /**
   * Make PUT honour `If-None-Match: *` (412 when the key exists), as AWS S3, MinIO and R2 do.
   * s3rver itself ignores the header and overwrites; false keeps that behaviour, to test the
   * fallback. Default false.
   */
  conditionalWrites?: boolean;
}

export interface S3Server {
  /** e.g. `http://127.0.0.1:41234`: pass as `endpoint` (path style). */
  endpoint: string;
  /** A fresh, empty bucket. */
  bucket: string;
  /** Where s3rver keeps the objects. */
  dir: string;
  /** Credentials s3rver accepts. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Stops the server and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./s3rver-process.cjs', import.meta.url));

/**
 * Starts a real S3-protocol server (s3rver, in a child process, over HTTP on 127.0.0.1 on a
 * random free port) with a temp folder and a fresh bucket. Each call is independent, so test
 * files may run in parallel. Throws when the server does not start within 15 s (its folder is
 * removed then).
 */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const dir = await mkdtemp(join(tmpdir(), 'reprise-s3rver-'));
  const bucket = `reprise-test-${randomBytes(4).toString('hex')}`;
  const child = spawn(process.execPath, ['--openssl-legacy-provider', SCRIPT, dir, bucket, options.conditionalWrites ? '1' : '0'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('s3rver did not start within 15 s')), 15_000);
      child.once('exit', (code) => reject(new Error(`s3rver exited with code ${code} before it was ready`)));
      child.once('error', reject);
      createInterface({ input: child.stdout }).once('line', (line) => {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    dir,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    async stop() {
      if (stopped) return;
      stopped = true;
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
