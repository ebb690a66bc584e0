import { createCipheriv, createHash } from 'node:crypto';
import type { Backend } from '../../../src/storage/backend.js';
import type { PartEntry, SnapshotSummary } from '../../../src/repo/api.js';
import { Repository, type RepositoryTuning } from '../../../src/repo/repository.js';

/** Test support: a file to back up. */
export interface TestFile {
  name: string;
  data: Uint8Array;
}

/** Test support: SHA-256 hex. */
export function sha(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Test support: splits data into a stream of pieces of varying sizes. */
export async function* pieces(data: Uint8Array, size = 65536): AsyncIterable<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

/** Test support: compressible, text-like bytes. */
export function textLike(bytes: number, seed = 1): Buffer {
  const words = ['select', 'from', 'where', 'insert', 'into', 'values', 'null', 'true', 'false', '{"id":', '"name":', 'alpha', 'beta'];
  let state = seed;
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    state = (state * 1103515245 + 12345) >>> 0;
    // High bits: the low bits of an LCG repeat with short periods (the text would dedup against itself).
    const r = state >>> 8;
    const word = `${words[r % words.length]}${r % 7 === 0 ? '\n' : ' '}${(r >>> 8) % 9973}`;
    parts.push(word);
    length += word.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

/** Test support: backs up files as one snapshot. */
export async function backup(repo: Repository, files: TestFile[], signal: AbortSignal = new AbortController().signal): Promise<SnapshotSummary> {
  const writer = repo.newWriter({ signal });
  for (const f of files) await writer.addPart({ name: f.name, type: 'file', mode: 0o644 }, pieces(f.data));
  return writer.commit({ source: 'test', sourceKind: 'files', tags: [], info: { kind: 'files', location: 'test', versions: {}, facts: {} } });
}

/** Test support: restores every part of a snapshot, returning name → sha256 of the content. */
export async function restoreHashes(repo: Repository, id: string): Promise<Record<string, string>> {
  const snapshot = await repo.loadSnapshot(id);
  const out: Record<string, string> = {};
  for (const part of await snapshot.loadParts()) out[part.name] = await partHash(repo, part);
  return out;
}

/** Test support: SHA-256 of a part read back. */
export async function partHash(repo: Repository, part: PartEntry): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of repo.readPart(part)) hash.update(chunk);
  return hash.digest('hex');
}

/** Test support: a small-chunk repository (so small test data spans many chunks and packs stay small). */
export function initSmall(backend: Backend, password = 'pw', tuning: RepositoryTuning & { hostname?: string } = {}): Promise<Repository> {
  return Repository.init({ backend, password, chunker: { avgSize: 1 << 14 }, workers: 1, ...tuning });
}

/** Test support: block `i` (1 MiB) of a deterministic pseudo-random stream (AES-CTR keystream of `seed`). */
export function pseudoRandomBlock(seed: string, i: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(i, 0);
  return createCipheriv('aes-256-ctr', key, iv).update(Buffer.alloc(1 << 20));
}
