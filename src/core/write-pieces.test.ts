import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WRITE_PIECE_BYTES, writeInPieces, writeSyncInPieces } from './write-pieces.js';

const dir = mkdtempSync(join(tmpdir(), 'reprise-write-pieces-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writes in pieces', () => {
  const data = randomBytes(3 * WRITE_PIECE_BYTES + 1234);

  it('writes every byte, in order, asynchronously and synchronously', async () => {
    const handle = await open(join(dir, 'async'), 'w');
    await writeInPieces(handle, data.subarray(0, 100));
    await writeInPieces(handle, data.subarray(100));
    await handle.close();
    expect(readFileSync(join(dir, 'async')).equals(data)).toBe(true);
    const fd = openSync(join(dir, 'sync'), 'w');
    writeSyncInPieces(fd, data);
    closeSync(fd);
    expect(readFileSync(join(dir, 'sync')).equals(data)).toBe(true);
  });

  it('stops between pieces when the signal is aborted', async () => {
    const controller = new AbortController();
    const handle = await open(join(dir, 'aborted'), 'w');
    const writing = writeInPieces(handle, data, controller.signal);
    controller.abort(new Error('stop'));
    await expect(writing).rejects.toThrow('stop');
    await handle.close();
    expect(readFileSync(join(dir, 'aborted')).length).toBeLessThan(data.length);
  });
});
