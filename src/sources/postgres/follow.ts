import type { FileHandle } from 'node:fs/promises';
import { open, readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { RepriseError } from '../../core/errors.js';

/** How long to wait before looking again at a file (or folder) pg_dump is still writing. */
const POLL_MS = 10;
const READ_SIZE = 1 << 20;
/** pg_dump ends every table's COPY data with `\.` and two empty lines, then closes the file. */
const COPY_END = Buffer.from('\n\\.\n\n\n');
/** A table's data file (large objects are `blob_<oid>.dat`). */
export const TABLE_DATA = /^\d+\.dat$/;

/** The outcome of the pg_dump run being followed, once it has exited. */
type Exit = { ok: true } | { ok: false; error: unknown };

/**
 * Follows a `pg_dump --format=directory` run while it writes: lists the files it has started and
 * reads them as they grow, so that they can be stored before the dump is over. A file is complete
 * when pg_dump has exited successfully or, for a table's data (`<id>.dat`), once it ends with the
 * COPY terminator (no data line can be `\.`, and pg_dump writes nothing after it). A failed
 * pg_dump makes every later read, listing and `done()` throw its error. pg_dump writes the
 * terminator before it checks the COPY's outcome, so a file may end at its terminator and the run
 * fail after: only `done()` says the dump is good.
 */
export class DumpFollower {
  private exit: Exit | undefined;
  private readonly exited: Promise<void>;

  constructor(
    private readonly dir: string,
    run: Promise<unknown>,
    private readonly signal: AbortSignal,
  ) {
    this.exited = run.then(
      () => void (this.exit = { ok: true }),
      (error: unknown) => void (this.exit = { ok: false, error }),
    );
  }

  /** True once pg_dump exited successfully; throws its error once it failed. */
  private finished(): boolean {
    if (this.exit?.ok === false) throw this.exit.error;
    return this.exit !== undefined;
  }

  /** Resolves when pg_dump has exited (whatever the outcome) or after a short pause. */
  private async pause(): Promise<void> {
    if (this.signal.aborted) throw new RepriseError('REPRISE_ABORTED', 'operation cancelled');
    await Promise.race([this.exited, sleep(POLL_MS, undefined, { signal: this.signal }).catch(() => undefined)]);
  }

  /** Waits for pg_dump to end; throws its error when it failed. */
  async done(): Promise<void> {
    await this.exited;
    this.finished();
  }

  /**
   * The files in the folder that are not in `seen`, in creation order as far as the listing tells
   * (by name): waits until there is one, or pg_dump has ended (then returns what is left, maybe
   * nothing). Throws pg_dump's error.
   */
  async newFiles(seen: ReadonlySet<string>): Promise<string[]> {
    for (;;) {
      const over = this.finished();
      const fresh = (await listFiles(this.dir)).filter((file) => !seen.has(file));
      if (fresh.length > 0 || over) return fresh;
      await this.pause();
    }
  }

  /** Reads `file` from its start as pg_dump writes it, to its end once complete. Throws pg_dump's error. */
  async *read(file: string): AsyncGenerator<Uint8Array> {
    const isTableData = TABLE_DATA.test(file);
    const handle = await open(`${this.dir}/${file}`, 'r');
    try {
      let tail: Buffer = Buffer.alloc(0);
      let size = 0;
      for (;;) {
        // Sampled before the read: a run that ended before it means this read saw everything.
        const over = this.finished();
        const buf = Buffer.allocUnsafe(READ_SIZE);
        const { bytesRead } = await handle.read(buf, 0, READ_SIZE, null);
        if (bytesRead > 0) {
          size += bytesRead;
          tail = keepTail(tail, buf.subarray(0, bytesRead));
          yield buf.subarray(0, bytesRead);
          continue;
        }
        if (over || (isTableData && endsWithCopyEnd(tail, size))) return;
        await this.pause();
      }
    } finally {
      await closeQuietly(handle);
    }
  }
}

async function listFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  } catch (err) {
    // pg_dump creates the folder itself, a moment after it starts.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

function keepTail(tail: Buffer, chunk: Buffer): Buffer {
  if (chunk.length >= COPY_END.length) return Buffer.from(chunk.subarray(chunk.length - COPY_END.length));
  return Buffer.concat([tail, chunk]).subarray(-COPY_END.length);
}

/** The file so far is a complete COPY: `\.\n\n\n` alone (an empty table) or after a data line. */
function endsWithCopyEnd(tail: Buffer, size: number): boolean {
  if (size === COPY_END.length - 1) return tail.equals(COPY_END.subarray(1));
  return size >= COPY_END.length && tail.equals(COPY_END);
}

async function closeQuietly(handle: FileHandle): Promise<void> {
  await handle.close().catch(() => undefined);
}
