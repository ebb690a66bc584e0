import { futimesSync, closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { utimesSeconds } from './file-times.js';

const dir = mkdtempSync(join(tmpdir(), 'reprise-file-times-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('utimesSeconds', () => {
  it('sets exactly the recorded microsecond, where ms / 1000 loses one', () => {
    const path = join(dir, 'f');
    closeSync(openSync(path, 'w'));
    // Times like these (a kernel's coarse clock ticks put many files on .5 ms) came back 1 µs short.
    for (const mtimeMs of [1796408034480.5, 1796408034481, 1700000000123.456, 1000.001]) {
      const fd = openSync(path, 'r+');
      futimesSync(fd, utimesSeconds(mtimeMs), utimesSeconds(mtimeMs));
      closeSync(fd);
      const ns = statSync(path, { bigint: true }).mtimeNs;
      expect(Number(ns / 1000n), String(mtimeMs)).toBe(Math.round(mtimeMs * 1000));
    }
  });

  it('shows the truncation it corrects', () => {
    // Without the half microsecond, libuv's truncation of this double gives .4804999… s.
    const seconds = 1796408034480.5 / 1000;
    expect(Math.trunc((seconds - Math.trunc(seconds)) * 1e6)).toBe(480499);
    expect(Math.trunc((utimesSeconds(1796408034480.5) - 1796408034) * 1e6)).toBe(480500);
  });
});
