import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';

// The `reprise` command starts with a /bin/sh header that execs node with the memory settings a
// backup needs, and without them for `check`. A stand-in `node` first on PATH shows what it got.
const bin = mkdtempSync(path.join(tmpdir(), 'reprise-launcher-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));
writeFileSync(path.join(bin, 'node'), '#!/bin/sh\necho "mmap=${MALLOC_MMAP_THRESHOLD_:-unset}${MALLOC_TRIM_THRESHOLD_:+ trim=$MALLOC_TRIM_THRESHOLD_}${MALLOC_ARENA_MAX:+ arenas=$MALLOC_ARENA_MAX}${GLIBC_TUNABLES:+ tunables=$GLIBC_TUNABLES} args=$*"\n');
chmodSync(path.join(bin, 'node'), 0o755);

function launch(...args: string[]): string {
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, MALLOC_MMAP_THRESHOLD_: undefined, MALLOC_TRIM_THRESHOLD_: undefined, MALLOC_ARENA_MAX: undefined, GLIBC_TUNABLES: undefined };
  return execFileSync('/bin/sh', [CLI, ...args], { env, encoding: 'utf8' }).trim();
}

describe('CLI launcher', () => {
  it('gives backup and the rest the memory settings', () => {
    for (const command of [['backup'], [], ['--json', 'snapshots']]) {
      expect(launch(...command), command.join(' ')).toBe(`mmap=262144 args=--max-semi-space-size=1 ${CLI} ${command.join(' ')}`.trim());
    }
  });

  it('lets restore keep freed memory in two malloc arenas as well', () => {
    for (const command of [['restore', 'site', '--to', '/tmp/x'], ['-c', 'reprise.yaml', 'restore', 'site']]) {
      expect(launch(...command), command.join(' ')).toBe(`mmap=262144 trim=4194304 arenas=2 args=--max-semi-space-size=1 ${CLI} ${command.join(' ')}`);
    }
  });

  it('starts check with huge pages and a trim threshold instead, wherever the global options stand', () => {
    for (const command of [['check', '--read-data'], ['-c', 'reprise.yaml', 'check'], ['--config', 'reprise.yaml', '--json', 'check'], ['--config=x.yaml', 'check']]) {
      expect(launch(...command), command.join(' ')).toBe(`mmap=unset tunables=glibc.malloc.hugetlb=1:glibc.malloc.trim_threshold=8388608 args=${CLI} ${command.join(' ')}`);
    }
  });

  it('takes the value of -c for a file name, not for the command', () => {
    expect(launch('-c', 'check', 'backup')).toBe(`mmap=262144 args=--max-semi-space-size=1 ${CLI} -c check backup`);
  });

  it('keeps the malloc settings the operator set', () => {
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, MALLOC_MMAP_THRESHOLD_: '65536', MALLOC_TRIM_THRESHOLD_: '131072', MALLOC_ARENA_MAX: '4', GLIBC_TUNABLES: undefined };
    expect(execFileSync('/bin/sh', [CLI, 'backup'], { env, encoding: 'utf8' }).trim()).toBe(`mmap=65536 trim=131072 arenas=4 args=--max-semi-space-size=1 ${CLI} backup`);
    expect(execFileSync('/bin/sh', [CLI, 'restore', 'site'], { env, encoding: 'utf8' }).trim()).toBe(`mmap=65536 trim=131072 arenas=4 args=--max-semi-space-size=1 ${CLI} restore site`);
    const tuned = { ...env, GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0' };
    expect(execFileSync('/bin/sh', [CLI, 'check'], { env: tuned, encoding: 'utf8' }).trim()).toBe(`mmap=65536 trim=131072 arenas=4 tunables=glibc.malloc.tcache_count=0 args=${CLI} check`);
  });
});
