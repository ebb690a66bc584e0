import { mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toRepriseError } from '../../core/errors.js';
import { FileReadStream } from './file-stream.js';

/** How many descriptors of this process point at `file` (other fds come and go with the runner). */
async function openFds(file: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target === file) count++;
  }
  return count;
}

describe('FileReadStream', () => {
  let dir: string;
  let path: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reprise-fstream-'));
    path = join(dir, 'data.bin');
    await writeFile(path, Buffer.alloc(3 * 1024 * 1024 + 5, 1));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('opens nothing until read, and closes its descriptor at the end', async () => {
        const stream = new FileReadStream(path);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await openFds(path)).toBe(0);
    let bytes = 0;
    let openWhileReading = 0;
    for await (const chunk of stream) {
      if (bytes === 0) openWhileReading = await openFds(path);
      bytes += (chunk as Buffer).length;
    }
    expect(openWhileReading).toBe(1);
    expect(bytes).toBe(3 * 1024 * 1024 + 5);
    expect(await openFds(path)).toBe(0);
  });

  it('an abort mid-read ends it with an AbortError (REPRISE_ABORTED) and closes the descriptor', async () => {
        const controller = new AbortController();
    const stream = new FileReadStream(path, { signal: controller.signal, chunkSize: 64 * 1024 });
    let chunks = 0;
    const err = await (async () => {
      for await (const _ of stream) {
        if (++chunks === 2) controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(toRepriseError(err).code).toBe('REPRISE_ABORTED');
    expect(chunks).toBeLessThan(10);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await openFds(path)).toBe(0);
  });

  it('a stream destroyed before its first read completes closes what it opened', async () => {
        for (let i = 0; i < 20; i++) {
      const stream = new FileReadStream(path);
      stream.once('readable', () => undefined);
      stream.read(0);
      stream.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await openFds(path)).toBe(0);
  });
});
