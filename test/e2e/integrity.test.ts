import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWorkspace, type Workspace } from '../helpers/cli.js';
import { allFiles, PLAINTEXT_MARKER, writeSampleTree } from '../helpers/tree.js';

describe('encryption and damage detection', () => {
  let ws: Workspace;
  let snapshot: string;

  beforeAll(async () => {
    ws = makeWorkspace('sources:\n  site: { type: files, path: ./data }\n');
    writeSampleTree(path.join(ws.dir, 'data'));
    expect((await ws.run('init')).code).toBe(0);
    const backup = await ws.run('backup', '--json');
    expect(backup.code, backup.stderr).toBe(0);
    snapshot = backup.json.snapshots[0].snapshot;
  });
  afterAll(() => ws.cleanup());

  it('stores no plaintext: the marker and file names appear nowhere in the repository', () => {
    const files = allFiles(path.join(ws.dir, 'repo'));
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const bytes = readFileSync(file);
      expect(bytes.includes(PLAINTEXT_MARKER), file).toBe(false);
      expect(bytes.includes('zéro-été'), file).toBe(false);
      expect(bytes.includes('lorem ipsum'), file).toBe(false);
    }
  });

  it('a flipped byte in a pack: check --read-data names the pack and the snapshot; restore refuses bad data', async () => {
    const clean = await ws.run('check', '--read-data', '--json');
    expect(clean.code, clean.stdout).toBe(0);

    const packs = allFiles(path.join(ws.dir, 'repo/data')).sort((a, b) => statSync(b).size - statSync(a).size);
    const pack = packs[0]!;
    const bytes = readFileSync(pack);
    bytes[Math.floor(bytes.length / 3)]! ^= 0x40;
    writeFileSync(pack, bytes);

    const structural = await ws.run('check', '--json');
    expect(structural.code).toBe(0); // sizes and index still agree: only reading data can tell

    const damaged = await ws.run('check', '--read-data', '--json');
    expect(damaged.code).toBe(13);
    expect(damaged.json.ok).toBe(false);
    expect(damaged.json.damagedPacks).toContain(path.basename(pack));
    expect(damaged.json.affectedSnapshots).toContain(snapshot);
    const human = await ws.run('check', '--read-data');
    expect(human.stdout).toContain(path.basename(pack).slice(0, 16));

    const target = path.join(ws.dir, 'restored');
    const restore = await ws.run('restore', 'site', '--to', target, '--json');
    expect(restore.code).toBe(13);
    expect(restore.json.error.code).toBe('REPRISE_INTEGRITY');
    // Whatever was written before the failure is intact: no file holds damaged bytes.
    for (const file of allFiles(target)) {
      const rel = path.relative(target, file);
      expect(readFileSync(file).equals(readFileSync(path.join(ws.dir, 'data', rel))), rel).toBe(true);
    }
  });
});
