import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository } from '../../../src/repo/repository.js';
import { LocalBackend } from '../../../src/storage/local/index.js';
import { partHash } from './helpers.js';

// Each fixture was written by scripts/make-golden-repo.mjs with its format; every later version must read it.
const fixtures = [
  { format: 1, dir: 'golden-repo', checksum: 'sha256' },
  { format: 2, dir: 'golden-repo-v2', checksum: 'crc32' },
] as const;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.each(fixtures)('golden repository (format $format)', ({ format, dir: fixtureDir, checksum }) => {
  const fixture = fileURLToPath(new URL(`../../fixtures/${fixtureDir}/`, import.meta.url));
  const expected = JSON.parse(readFileSync(join(fixture, 'expected.json'), 'utf8')) as {
    password: string;
    snapshot: string;
    parts: Record<string, string>;
  };

  it('has the format in clear at the start of its config', () => {
    expect(readFileSync(join(fixture, 'repo', 'config')).readUInt32LE(4)).toBe(format);
  });

  it('opens, lists its snapshot, restores every part by checksum and passes check --read-data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reprise-golden-'));
    dirs.push(dir);
    cpSync(join(fixture, 'repo'), dir, { recursive: true });
    const backend = new LocalBackend(dir);
    const repo = await Repository.open({ backend, password: expected.password });
    try {
      const snapshots = await repo.listSnapshots();
      expect(snapshots.map((s) => s.id)).toEqual([expected.snapshot]);
      expect(snapshots[0]).toMatchObject({ source: 'golden', host: 'golden-host', time: '2026-01-01T00:00:00.000Z', tags: ['golden'], parts: 6 });
      const parts = await (await repo.loadSnapshot(expected.snapshot.slice(0, 10))).loadParts();
      expect(parts.map((p) => p.name).sort()).toEqual(['blob.bin', 'dump', 'dump/data.sql', 'dump/schema.sql', 'empty', 'link']);
      expect(parts.find((p) => p.name === 'link')?.linkTarget).toBe('blob.bin');
      // Each format's whole-content checksum kind, verified by the restores below.
      for (const p of parts.filter((q) => q.type === 'file')) expect(p[checksum], p.name).toMatch(/^[0-9a-f]+$/);
      for (const [name, sha] of Object.entries(expected.parts)) {
        const part = parts.find((p) => p.name === name);
        expect(part, name).toBeDefined();
        expect(await partHash(repo, part!), name).toBe(sha);
      }
      const report = await repo.check({ readData: true });
      expect(report.errors).toEqual([]);
      expect(report.packsChecked).toBeGreaterThan(0);
    } finally {
      await repo.close();
      await backend.close();
    }
  });
});
