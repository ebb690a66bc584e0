import { appendFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RepriseError } from '../../core/errors.js';
import { DumpFollower } from './follow.js';

let dir = '';
const signal = new AbortController().signal;

/** A stand-in for the pg_dump run: settled by the test. */
function fakeRun(): { run: Promise<void>; succeed: () => void; fail: (err: unknown) => void } {
  let succeed = (): void => undefined;
  let fail = (_err: unknown): void => undefined;
  const run = new Promise<void>((resolve, reject) => {
    succeed = resolve;
    fail = reject;
  });
  return { run, succeed, fail };
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const pieces: Buffer[] = [];
  for await (const chunk of stream) pieces.push(Buffer.from(chunk));
  return Buffer.concat(pieces).toString();
}

/** Settles with 'pending' when `promise` has not settled within a few polls. */
async function stateAfterAWhile(promise: Promise<unknown>): Promise<'pending' | 'settled'> {
  return Promise.race([promise.then(() => 'settled' as const, () => 'settled' as const), new Promise<'pending'>((r) => setTimeout(() => r('pending'), 80))]);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reprise-follow-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('DumpFollower', () => {
  it('reads a table file as it grows and ends at the COPY terminator, before pg_dump exits', async () => {
    const { run, succeed } = fakeRun();
    const follower = new DumpFollower(dir, run, signal);
    await writeFile(join(dir, '3001.dat'), '1\tone\n');
    const reading = readAll(follower.read('3001.dat'));
    expect(await stateAfterAWhile(reading)).toBe('pending');
    await appendFile(join(dir, '3001.dat'), '2\ttwo\n\\.\n\n');
    // `\.` then only one empty line: pg_dump has not finished writing the terminator yet.
    expect(await stateAfterAWhile(reading)).toBe('pending');
    await appendFile(join(dir, '3001.dat'), '\n');
    expect(await reading).toBe('1\tone\n2\ttwo\n\\.\n\n\n');
    succeed();
    await follower.done();
  });

  it('ends an empty table at its bare terminator', async () => {
    const { run } = fakeRun();
    const follower = new DumpFollower(dir, run, signal);
    await writeFile(join(dir, '3002.dat'), '\\.\n\n\n');
    expect(await readAll(follower.read('3002.dat'))).toBe('\\.\n\n\n');
  });

  it('ends files other than table data (large objects) only when pg_dump exits', async () => {
    const { run, succeed } = fakeRun();
    const follower = new DumpFollower(dir, run, signal);
    await writeFile(join(dir, 'blob_7.dat'), 'x\n\\.\n\n\n');
    const reading = readAll(follower.read('blob_7.dat'));
    expect(await stateAfterAWhile(reading)).toBe('pending');
    await appendFile(join(dir, 'blob_7.dat'), 'more');
    succeed();
    expect(await reading).toBe('x\n\\.\n\n\nmore');
  });

  it('makes a file being read throw when pg_dump fails, never ending it as if complete', async () => {
    const { run, fail } = fakeRun();
    const follower = new DumpFollower(dir, run, signal);
    await writeFile(join(dir, '3003.dat'), '1\tone\n');
    const reading = readAll(follower.read('3003.dat'));
    fail(new RepriseError('REPRISE_TOOL_FAILED', 'pg_dump exited with code 1'));
    await expect(reading).rejects.toMatchObject({ code: 'REPRISE_TOOL_FAILED' });
    await expect(follower.newFiles(new Set())).rejects.toMatchObject({ code: 'REPRISE_TOOL_FAILED' });
  });

  it('lists new files as they appear, waits while there are none, and returns nothing once pg_dump is done', async () => {
    const { run, succeed } = fakeRun();
    const follower = new DumpFollower(join(dir, 'out'), run, signal);
    const first = follower.newFiles(new Set());
    expect(await stateAfterAWhile(first)).toBe('pending');
    // The three files appear at once (a folder renamed into place): the follower polls, and files
    // written one by one could be listed in two rounds.
    await mkdir(join(dir, 'staging'));
    await writeFile(join(dir, 'staging', 'toc.dat'), 'toc');
    await writeFile(join(dir, 'staging', '10.dat'), '');
    await writeFile(join(dir, 'staging', '9.dat'), '');
    await rename(join(dir, 'staging'), join(dir, 'out'));
    expect(await first).toEqual(['9.dat', '10.dat', 'toc.dat']);
    const seen = new Set(['9.dat', '10.dat', 'toc.dat']);
    const next = follower.newFiles(seen);
    expect(await stateAfterAWhile(next)).toBe('pending');
    succeed();
    expect(await next).toEqual([]);
  });
});
