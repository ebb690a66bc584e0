import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../storage/memory/index.js';
import type { PartEntry } from './api.js';
import { scanChunks, scanPartList, type PartListCache } from './part-list-scan.js';
import { readAll } from './reader.js';
import type { Repository } from './repository.js';
import { readSnapshotFile } from './snapshot-store.js';
import { decodeTree, encodeTree } from './tree.js';
import { backup, initSmall, type TestFile } from '../../test/integration/repo/helpers.js';

const repos: Repository[] = [];
afterAll(async () => {
  for (const repo of repos) await repo.close();
});

/** The packs and unindexed count the whole part list gives when decoded in one piece. */
async function decodedWhole(repo: Repository, treeChunks: string[]): Promise<{ packs: Set<string>; absent: number }> {
  const packs = new Set<string>();
  let absent = 0;
  for (const part of decodeTree(await readAll(repo.context, treeChunks))) {
    for (const chunk of part.chunks) {
      const loc = repo.context.index.chunks.get(chunk);
      if (loc) packs.add(loc.pack);
      else absent++;
    }
  }
  return { packs, absent };
}

/** Varied two-, three- and four-byte characters. */
function name(i: number): string {
  return Array.from({ length: 30 }, (_, k) => String.fromCodePoint([0xe0, 0x4e00, 0x1f600][k % 3]! + ((i * 31 + k * 7) % 64))).join('');
}

async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.slice(at, at + size);
}

describe('scanPartList', () => {
  it('joins lines across chunks of any size, even inside a UTF-8 character', async () => {
    const index = new Map<string, { pack: string }>();
    const parts: PartEntry[] = Array.from({ length: 40 }, (_, i) => {
      const chunks = Array.from({ length: i % 4 }, (_, k) => `${i}-${k}`.padEnd(64, '0'));
      chunks.forEach((c, k) => k % 3 !== 2 && index.set(c, { pack: `p${(i + k) % 7}` }));
      return { name: name(i), type: 'file', chunks, size: 0, sha256: '' } as PartEntry;
    });
    const whole = encodeTree(parts);
    const expected = { packs: new Set([...index.values()].map((l) => l.pack)), absent: parts.reduce((n, p) => n + p.chunks.filter((c) => !index.has(c)).length, 0) };
    expect(expected.absent).toBeGreaterThan(5);
    for (const size of [1, 2, 3, 7, 64, 333, whole.length]) {
      const ids = Array.from({ length: Math.ceil(whole.length / size) }, (_, i) => `${size}-${i}`);
      expect(await scanChunks(index, ids, new Map(), pieces(whole, size))).toEqual(expected);
    }
  });

  it('gives what decoding whole part lists gives, reading the chunks snapshots share once', async () => {
    const backend = new MemoryBackend();
    const repo = await initSmall(backend);
    repos.push(repo);
    const files: TestFile[] = Array.from({ length: 1500 }, (_, i) => ({ name: `${name(i)}-${i}`, data: randomBytes(i % 3 === 0 ? 20_000 : 50) }));
    const first = await backup(repo, files);
    files[700] = { name: files[700]!.name, data: randomBytes(30_000) };
    const second = await backup(repo, files);

    const cache: PartListCache = new Map();
    const treeChunks: string[][] = [];
    for (const snap of [first, second]) {
      const { file } = await readSnapshotFile(backend, repo.context.keys.encKey, snap.id);
      treeChunks.push(file.tree.chunks);
      const scan = await scanPartList(repo.context, file.tree.chunks, cache);
      expect(scan).toEqual(await decodedWhole(repo, file.tree.chunks));
      expect(scan.absent).toBe(0);
    }
    // Each chunk read once: the cache holds every distinct one.
    expect(cache.size).toBe(new Set(treeChunks.flat()).size);
    expect(treeChunks[0]!.length).toBeGreaterThan(10);
    const shared = treeChunks[1]!.filter((id) => treeChunks[0]!.includes(id)).length;
    expect(shared).toBeGreaterThan(treeChunks[1]!.length / 2);
  });

  it('takes the ids of each part itself, not of a list nested in it or named in it', async () => {
    const hex = (i: number): string => i.toString(16).padStart(64, 'a');
    const index = new Map(Array.from({ length: 12 }, (_, i) => [hex(i), { pack: `p${i}` }]));
    const lines = [
      // As the backup writes them: a source's `extra` (before the chunks) may hold anything.
      JSON.stringify({ name: 'a', type: 'file', extra: { chunks: [hex(1)] }, chunks: [hex(2), hex(3)], size: 2, crc32: '00000000' }),
      JSON.stringify({ name: `b","chunks":["${hex(4)}"],"size":1}`, type: 'file', chunks: [hex(5)], size: 1, crc32: '00000000' }),
      JSON.stringify({ name: 'dir', type: 'dir', chunks: [], size: 0, crc32: '00000000' }),
      // Other shapes are parsed: a list nested after the part's own, a key that ends in `"chunks`.
      `{"name":"c","chunks":["${hex(6)}"],"size":1,"extra":{"chunks":["${hex(7)}"]}}`,
      `{"name":"d","chunks":["${hex(8)}"],"size":1,"x\\"chunks":["${hex(9)}"]}`,
      `{"name":"e","chunks":["${hex(10)}","${'z'.repeat(64)}"],"size":2}`,
    ];
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    const bytes = Buffer.from(lines.join('\n') + '\n');
    const scan = await scanChunks(index, ['t'], new Map(), pieces(bytes, bytes.length));
    expect(scan).toEqual({ packs: new Set(['p2', 'p3', 'p5', 'p6', 'p8', 'p10']), absent: 1 });
  });

  it('reports a line that is not a part', async () => {
    for (const line of ['{"name":"a","chunks":["x"', '{"name":"a","size":1}', '[1,2]']) {
      const bytes = Buffer.from(`${line}\n`);
      await expect(scanChunks(new Map(), ['t'], new Map(), pieces(bytes, bytes.length))).rejects.toMatchObject({ code: 'REPRISE_INTEGRITY' });
    }
  });

  it('counts chunks no index lists', async () => {
    const repo = await initSmall(new MemoryBackend());
    repos.push(repo);
    const snap = await backup(repo, [{ name: 'a', data: randomBytes(100_000) }]);
    const { file } = await readSnapshotFile(repo.context.backend, repo.context.keys.encKey, snap.id);
    const [part] = decodeTree(await readAll(repo.context, file.tree.chunks));
    repo.context.index.chunks.delete(part!.chunks[1]!);
    const scan = await scanPartList(repo.context, file.tree.chunks, new Map());
    expect(scan.absent).toBe(1);
  });
});
