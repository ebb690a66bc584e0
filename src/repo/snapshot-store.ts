import { RepriseError, isRepriseError } from '../core/errors.js';
import type { Backend } from '../storage/backend.js';
import type { SnapshotHeader, SnapshotSummary } from './api.js';
import { sealJson, sha256Hex, unsealJson } from './crypto.js';
import type { ContentChecksum } from './content-checksum.js';
import { listAll, storageFailure } from './context.js';
import { PREFIX_SNAPSHOTS } from './format.js';

/** The fields that define a snapshot, identical in every repository it is copied to. */
export interface SnapshotIdentity extends SnapshotHeader {
  time: string;
  host: string;
  parts: number;
  size: number;
  /**
   * SHA-256 of the part list without chunk ids (names, metadata, sizes, content SHA-256s): makes
   * the id depend on the content while staying the same in every repository.
   */
  content: string;
}

/** Where the part list is: tree chunk ids (repository-specific), its size and checksum. */
export interface TreeRef extends ContentChecksum {
  chunks: string[];
  size: number;
}

/**
 * Snapshot file plaintext. `identity` is kept as the exact JSON text whose SHA-256 is the snapshot
 * id, so the id survives `copy` (which rewrites `tree` with the destination's chunk ids).
 */
export interface SnapshotFile {
  v: 1;
  identity: string;
  tree: TreeRef;
  added: number;
}

/** A snapshot file read back, with its id verified. */
export interface StoredSnapshot {
  summary: SnapshotSummary;
  file: SnapshotFile;
}

/** The identity text of a snapshot. Pure. */
export function identityText(identity: SnapshotIdentity): string {
  const { source, sourceKind, tags, info, parent, time, host, parts, size, content } = identity;
  return JSON.stringify({ source, sourceKind, tags, info, ...(parent !== undefined ? { parent } : {}), time, host, parts, size, content });
}

/** Snapshot id of an identity text. Pure. */
export function snapshotId(identity: string): string {
  return sha256Hex(Buffer.from(identity, 'utf8'));
}

function summarise(id: string, file: SnapshotFile): SnapshotSummary {
  const { content: _content, ...identity } = JSON.parse(file.identity) as SnapshotIdentity;
  return { ...identity, id, added: file.added };
}

/**
 * Writes `snapshots/<id>` (create-only: an existing one with that id is the same snapshot) and
 * returns its summary and stored size. Throws REPRISE_STORAGE*. Idempotent per id.
 */
export async function writeSnapshotFile(
  backend: Backend,
  encKey: Uint8Array,
  file: SnapshotFile,
  signal?: AbortSignal,
): Promise<{ summary: SnapshotSummary; size: number }> {
  const id = snapshotId(file.identity);
  const bytes = sealJson(encKey, file);
  try {
    await backend.put(`${PREFIX_SNAPSHOTS}${id}`, bytes, { createOnly: true, ...(signal ? { signal } : {}) });
  } catch (err) {
    if (!(err instanceof Error && (err as { kind?: string }).kind === 'exists')) throw storageFailure(err, `write snapshot ${id}`);
  }
  return { summary: summarise(id, file), size: bytes.length };
}

/** Reads and verifies one snapshot file. Throws REPRISE_SNAPSHOT_NOT_FOUND, REPRISE_INTEGRITY, REPRISE_STORAGE*. */
export async function readSnapshotFile(backend: Backend, encKey: Uint8Array, id: string, signal?: AbortSignal): Promise<StoredSnapshot> {
  return decodeSnapshotFile(encKey, id, await fetchSnapshotBytes(backend, id, signal));
}

/** The sealed bytes of snapshot file `id`. Throws REPRISE_SNAPSHOT_NOT_FOUND, REPRISE_STORAGE*. */
export async function fetchSnapshotBytes(backend: Backend, id: string, signal?: AbortSignal): Promise<Uint8Array> {
  try {
    return await backend.get(`${PREFIX_SNAPSHOTS}${id}`, undefined, signal);
  } catch (err) {
    const mapped = storageFailure(err, `read snapshot ${id}`);
    if (isRepriseError(mapped, 'REPRISE_STORAGE_NOT_FOUND')) throw new RepriseError('REPRISE_SNAPSHOT_NOT_FOUND', `no snapshot ${id}`);
    throw mapped;
  }
}

/** Opens sealed snapshot file bytes and checks they are snapshot `id`. Throws REPRISE_INTEGRITY. Pure. */
export function decodeSnapshotFile(encKey: Uint8Array, id: string, bytes: Uint8Array): StoredSnapshot {
  const file = unsealJson<SnapshotFile>(encKey, bytes, `snapshot ${id}`);
  if (file.v !== 1 || typeof file.identity !== 'string' || snapshotId(file.identity) !== id) {
    throw new RepriseError('REPRISE_INTEGRITY', `snapshot ${id}: content does not match its id`);
  }
  return { summary: summarise(id, file), file };
}

/** Ids of every snapshot file. Throws REPRISE_STORAGE*. */
export async function listSnapshotIds(backend: Backend, signal?: AbortSignal): Promise<string[]> {
  return [...(await listAll(backend, PREFIX_SNAPSHOTS, signal)).keys()].map((k) => k.slice(PREFIX_SNAPSHOTS.length));
}
