import { watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { OFF_STATE, parseModeState, type ModeState } from '../mode.js';
import type { ModeStore, StoreListener } from '../store.js';
import { storeError } from '../timeout.js';

/** How often the file is stat-ed as a backstop for fs.watch (which can miss events on some filesystems). */
const POLL_MS = 500;

/**
 * A mode store in a JSON file, for one machine (or a shared volume). Writes are atomic
 * (temp file, fsync, rename); readers see the old or the new state, never half of one.
 */
export class FileModeStore implements ModeStore {
  readonly description: string;

  constructor(readonly file: string) {
    this.description = file;
  }

  /** Throws REPRISE_KILLSWITCH_STORE when the file exists but cannot be read or parsed. Idempotent. */
  async read(): Promise<ModeState> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return OFF_STATE;
      throw storeError(err, `cannot read ${this.file}`);
    }
    const state = parseModeState(text);
    if (!state) throw storeError(new Error('not a killswitch state'), `cannot read ${this.file}`);
    return state;
  }

  /** Throws REPRISE_KILLSWITCH_STORE when the folder cannot be written. Idempotent. */
  async write(state: ModeState): Promise<void> {
    const temp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    try {
      await mkdir(path.dirname(this.file), { recursive: true });
      const handle = await open(temp, 'w');
      try {
        await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.file);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw storeError(err, `cannot write ${this.file}`);
    }
  }

  /** Watches the file's folder, with a stat poll as backstop. Never throws. */
  subscribe(listener: StoreListener): () => void {
    let lastText: string | undefined;
    let healthy = true;
    let stopped = false;
    const check = (): void => {
      readFile(this.file, 'utf8').then(
        (text) => {
          if (stopped) return;
          const state = parseModeState(text);
          if (!state) return setHealth(false, new Error(`${this.file} is not a killswitch state`));
          setHealth(true);
          if (text !== lastText) {
            lastText = text;
            listener.change(state);
          }
        },
        (err: NodeJS.ErrnoException) => {
          if (stopped) return;
          if (err.code === 'ENOENT') {
            setHealth(true);
            if (lastText !== '') {
              lastText = '';
              listener.change(OFF_STATE);
            }
          } else setHealth(false, err);
        },
      );
    };
    const setHealth = (ok: boolean, error?: Error): void => {
      if (ok === healthy) return;
      healthy = ok;
      listener.status(ok, error);
    };
    let watcher: FSWatcher | undefined;
    try {
      const base = path.basename(this.file);
      watcher = watch(path.dirname(this.file), { persistent: false }, (_event, name) => {
        if (name === null || name === base) check();
      });
      watcher.on('error', () => undefined);
    } catch {
      // The folder may not exist yet: the stat poll below still notices the file when it appears.
    }
    const onStat = (): void => check();
    watchFile(this.file, { interval: POLL_MS, persistent: false }, onStat);
    return () => {
      stopped = true;
      watcher?.close();
      unwatchFile(this.file, onStat);
    };
  }

  async close(): Promise<void> {
    // Nothing held open: watchers are removed by each subscription's stop function.
  }
}
