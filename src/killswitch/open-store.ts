import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RepriseError } from '../core/errors.js';
import type { ModeStore } from './store.js';

export interface OpenModeStoreOptions {
  /** `killswitch.key`: the Redis key or PostgreSQL row name, so several apps can share a server. */
  key?: string | undefined;
  /** How long one store operation may take. Default 2000 ms. */
  timeoutMs?: number | undefined;
}

/**
 * Opens the store named by `killswitch.store`: `redis://`/`rediss://`, `postgres://`/`postgresql://`,
 * `file://` or a path (relative to `baseDir`). Drivers are imported only for the kind asked for, so
 * an app using the file store never loads pg or ioredis. Does not wait for the server: a store
 * that is down is reported by its operations and subscription. Throws REPRISE_CONFIG_INVALID for an
 * unknown scheme; not idempotent (each call opens new connections).
 */
export async function openModeStore(url: string, baseDir: string = process.cwd(), options: OpenModeStoreOptions = {}): Promise<ModeStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  const common = {
    ...(options.key !== undefined ? { key: options.key } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  };
  switch (scheme) {
    case 'redis':
    case 'rediss': {
      const { RedisModeStore } = await import('./redis/index.js');
      return new RedisModeStore(url, common);
    }
    case 'postgres':
    case 'postgresql': {
      const { PostgresModeStore } = await import('./postgres/index.js');
      return new PostgresModeStore(url, common);
    }
    case 'file':
    case undefined: {
      const { FileModeStore } = await import('./file/index.js');
      const file = scheme === 'file' ? fileURLToPath(url) : path.resolve(baseDir, url);
      return new FileModeStore(file);
    }
    default:
      throw new RepriseError('REPRISE_CONFIG_INVALID', `killswitch.store: unsupported scheme ${scheme}:// in ${url}`, {
        hint: 'Use a file path, redis://host:port/db or postgres://user@host/db.',
      });
  }
}
