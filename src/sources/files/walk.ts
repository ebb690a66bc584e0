import type { BigIntStats, Dirent } from 'node:fs';
import { lstatSync } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { RepriseError } from '../../core/errors.js';
import { throwIfAborted } from './abort.js';
import type { ExcludeMatcher } from './exclude.js';
import { errnoCode, sourceUnreadable } from './fs-errors.js';
import { ROOT_PART } from './part-name.js';

export type EntryType = 'file' | 'dir' | 'symlink';

export interface WalkEntry {
  /** '/'-separated path relative to the root; `.` for the root itself. */
  rel: string;
  abs: string;
  type: EntryType;
  stat: BigIntStats;
  /** For symlinks: the target as stored in the link (never followed). */
  linkTarget?: string;
}

/** Something the walk left out that the operator may want to know about. */
export interface WalkWarning {
  path: string;
  /**
   * `special`: socket, FIFO or device; `vanished`: deleted between listing and lstat;
   * `name-encoding`: a name or link target that is not valid UTF-8 (parts are named by strings).
   */
  reason: 'special' | 'vanished' | 'name-encoding';
  message: string;
}

export interface WalkOptions {
  exclude: ExcludeMatcher;
  /** Do not descend into directories on another device than the root (the mount point itself is kept). */
  oneFileSystem: boolean;
  signal: AbortSignal;
  onWarning?: (warning: WalkWarning) => void;
}

/**
 * Walks `root` lazily, depth first, names sorted by their bytes so two walks of the same tree
 * yield the same order; a directory comes before its content. Symlinks are reported, never
 * followed (except `root` itself, which may be a link to a directory). Only one listing per
 * directory level is held in memory.
 * Throws REPRISE_SOURCE_UNREADABLE (root missing or not a directory, a directory that cannot be
 * listed) and REPRISE_ABORTED. Reads only; idempotent.
 */
export async function* walkTree(root: string, options: WalkOptions): AsyncGenerator<WalkEntry> {
  throwIfAborted(options.signal);
  let rootStat: BigIntStats;
  try {
    rootStat = await stat(root, { bigint: true });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new RepriseError('REPRISE_SOURCE_UNREADABLE', `source path ${root} does not exist`, {
        cause: err,
        hint: 'Check `path` of this files source in reprise.yaml (relative paths start at the file\'s folder).',
        details: { path: root },
      });
    }
    throw sourceUnreadable(root, err);
  }
  if (!rootStat.isDirectory()) {
    throw new RepriseError('REPRISE_SOURCE_UNREADABLE', `source path ${root} is not a directory`, {
      hint: 'A files source backs up a directory tree: point `path` at the folder that holds the file.',
      details: { path: root },
    });
  }
  yield { rel: ROOT_PART, abs: root, type: 'dir', stat: rootStat };
  // One generator with an explicit stack of directories: nested generators cost each entry a
  // promise and a result object per level, a fifth of a backup's garbage on the main thread.
  const stack: DirFrame[] = [await openDir(root, '', options)];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as DirFrame;
    if (frame.next >= frame.batch.length) {
      if (frame.start >= frame.listed.length) stack.pop();
      else statNextBatch(frame, options);
      continue;
    }
    throwIfAborted(options.signal);
    const { name, result } = frame.batch[frame.next++] as Stated;
    const rel = frame.relDir === '' ? name : `${frame.relDir}/${name}`;
    const abs = frame.prefix + name;
    if ('err' in result) {
      if (errnoCode(result.err) === 'ENOENT') {
        options.onWarning?.({ path: rel, reason: 'vanished', message: `${rel} was deleted during the walk; skipped` });
        continue;
      }
      throw sourceUnreadable(abs, result.err, 'cannot stat');
    }
    const st = result.st;
    const type: EntryType | undefined = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : undefined;
    if (type === undefined) {
      if (!options.exclude(rel, false)) {
        options.onWarning?.({ path: rel, reason: 'special', message: `${rel} is a socket, FIFO or device; skipped` });
      }
      continue;
    }
    if (options.exclude(rel, type === 'dir')) continue;
    if (type === 'symlink') {
      const linkTarget = await readLinkUtf8(abs, rel, options);
      if (linkTarget !== undefined) yield { rel, abs, type, stat: st, linkTarget };
      continue;
    }
    yield { rel, abs, type, stat: st };
    if (type === 'dir' && !(options.oneFileSystem && st.dev !== rootStat.dev)) stack.push(await openDir(abs, rel, options));
  }
}

/** Entries stat'ed together before any is yielded (a batch also ends at a directory). */
const STAT_BATCH = 64;

type StatResult = { st: BigIntStats } | { err: unknown };

interface Listed {
  name: string;
  /** The listing says directory, or cannot tell (DT_UNKNOWN). */
  mayBeDir: boolean;
}

interface Stated {
  name: string;
  result: StatResult;
}

/** A directory being walked: its sorted listing, and the batch of entries stat'ed so far. */
interface DirFrame {
  relDir: string;
  /** The directory's path with a trailing slash: paths by concatenation (names come from readdir). */
  prefix: string;
  listed: Listed[];
  /** Next listed entry to stat. */
  start: number;
  batch: Stated[];
  /** Next entry of the batch to yield. */
  next: number;
}

async function openDir(absDir: string, relDir: string, options: WalkOptions): Promise<DirFrame> {
  const listed = await listSorted(absDir, relDir, options);
  return { relDir, prefix: absDir.endsWith('/') ? absDir : `${absDir}/`, listed, start: 0, batch: [], next: 0 };
}

/**
 * Stats the next entries of `frame`. A batch ends at a directory: entries after it are stat'ed once
 * its subtree is done, so the stat a part carries is never older than the walk of a sibling subtree.
 */
function statNextBatch(frame: DirFrame, options: WalkOptions): void {
  throwIfAborted(options.signal);
  const { listed } = frame;
  let end = frame.start;
  while (end < listed.length && end - frame.start < STAT_BATCH) {
    if ((listed[end++] as Listed).mayBeDir) break;
  }
  // Synchronous on purpose: an lstat takes microseconds, an asynchronous one a thread-pool round trip.
  frame.batch = listed.slice(frame.start, end).map(({ name }): Stated => {
    try {
      return { name, result: { st: lstatSync(frame.prefix + name, { bigint: true }) } };
    } catch (err) {
      return { name, result: { err } };
    }
  });
  frame.start = end;
  frame.next = 0;
}

async function listSorted(absDir: string, relDir: string, options: WalkOptions): Promise<Listed[]> {
  let raw: Dirent<Buffer>[];
  try {
    raw = await readdir(absDir, { encoding: 'buffer', withFileTypes: true });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' && relDir !== '') {
      options.onWarning?.({ path: relDir, reason: 'vanished', message: `${relDir} was deleted during the walk; its content is skipped` });
      return [];
    }
    throw sourceUnreadable(absDir, err, 'cannot list');
  }
  // Byte order, not locale order: the same tree must give the same snapshot on any machine.
  raw.sort((a, b) => Buffer.compare(a.name, b.name));
  const listed: Listed[] = [];
  for (const dirent of raw) {
    const bytes = dirent.name;
    const name = bytes.toString('utf8');
    if (!Buffer.from(name, 'utf8').equals(bytes)) {
      const shown = relDir === '' ? name : `${relDir}/${name}`;
      options.onWarning?.({ path: shown, reason: 'name-encoding', message: `${shown}: name is not valid UTF-8; skipped` });
      continue;
    }
    const known = dirent.isFile() || dirent.isSymbolicLink() || dirent.isFIFO() || dirent.isSocket() || dirent.isBlockDevice() || dirent.isCharacterDevice();
    listed.push({ name, mayBeDir: dirent.isDirectory() || !known });
  }
  return listed;
}

async function readLinkUtf8(abs: string, rel: string, options: WalkOptions): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readlink(abs, { encoding: 'buffer' });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      options.onWarning?.({ path: rel, reason: 'vanished', message: `${rel} was deleted during the walk; skipped` });
      return undefined;
    }
    throw sourceUnreadable(abs, err, 'cannot read link');
  }
  const target = bytes.toString('utf8');
  if (!Buffer.from(target, 'utf8').equals(bytes)) {
    options.onWarning?.({ path: rel, reason: 'name-encoding', message: `${rel}: link target is not valid UTF-8; skipped` });
    return undefined;
  }
  return target;
}
