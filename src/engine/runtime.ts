import os from 'node:os';
import type { Catalog } from '../catalog/catalog.js';
import { openCatalog } from '../catalog/open.js';
import type { LoadedConfig } from '../config/load.js';
import type { CopyConfig, SourceConfig } from '../config/schema.js';
import { defaultCacheRoot } from '../core/cache-dir.js';
import { RepriseError } from '../core/errors.js';
import type { RepositoryHandle } from '../repo/api.js';
import { Repository } from '../repo/repository.js';
import { createSource } from '../sources/index.js';
import type { Source } from '../sources/source.js';
import type { Backend } from '../storage/backend.js';
import { openBackend } from '../storage/open.js';
import type { EngineEvent } from './events.js';

/**
 * Everything a use case needs, opened lazily and once: the configuration, the repository,
 * the catalog and the sources. The CLI and the daemon each build one per command or job.
 */
export class Runtime {
  readonly loaded: LoadedConfig;
  readonly signal: AbortSignal;
  /** Who runs this (user@host), recorded in the catalog. */
  readonly actor: string;
  readonly emit: (event: EngineEvent) => void;
  private repository: Promise<RepositoryHandle> | undefined;
  private catalog: Promise<Catalog> | undefined;
  private readonly copies = new Map<string, Promise<RepositoryHandle>>();
  /** Backends opened here: a repository does not close the backend it was given. */
  private readonly backends: Backend[] = [];

  constructor(loaded: LoadedConfig, options: { signal: AbortSignal; actor?: string; emit?: (event: EngineEvent) => void }) {
    this.loaded = loaded;
    this.signal = options.signal;
    this.actor = options.actor ?? `${os.userInfo().username}@${os.hostname()}`;
    this.emit = options.emit ?? (() => {});
  }

  get config() {
    return this.loaded.config;
  }

  /**
   * Opens the configured repository (once: later calls share it, whatever their options).
   * `verifyAhead`: a full read-data check follows (see OpenOptions). Throws
   * REPRISE_REPO_NOT_FOUND, REPRISE_WRONG_PASSWORD, REPRISE_PASSWORD_MISSING.
   */
  openRepository(options: { verifyAhead?: boolean } = {}): Promise<RepositoryHandle> {
    this.repository ??= Repository.open({
      backend: this.track(openBackend(this.config.repository, this.loaded.baseDir)),
      password: requirePassword(this.config.repository.password, 'repository'),
      signal: this.signal,
      verifyAhead: options.verifyAhead === true,
      cacheDir: defaultCacheRoot(),
    });
    return this.repository;
  }

  /** Opens (or, with `create`, initialises when missing) the copy destination named under `copies:`. */
  openCopy(name: string, create = false): Promise<RepositoryHandle> {
    let opened = this.copies.get(name);
    if (!opened) {
      const copy = this.copyConfig(name);
      const options = {
        backend: this.track(openBackend(copy, this.loaded.baseDir)),
        password: requirePassword(copy.password ?? this.config.repository.password, `copies.${name}`),
        signal: this.signal,
        cacheDir: defaultCacheRoot(),
      };
      opened = Repository.open(options).catch(async (err: unknown) => {
        if (create && err instanceof RepriseError && err.code === 'REPRISE_REPO_NOT_FOUND') return Repository.init(options);
        throw err;
      });
      this.copies.set(name, opened);
    }
    return opened;
  }

  copyConfig(name: string): CopyConfig {
    const copy = this.config.copies.find((c) => c.name === name);
    if (!copy) {
      throw new RepriseError('REPRISE_COPY_UNKNOWN', `no copy named "${name}" under copies:`, {
        hint: `Configured copies: ${this.config.copies.map((c) => c.name).join(', ') || '(none)'}.`,
      });
    }
    return copy;
  }

  openCatalog(): Promise<Catalog> {
    this.catalog ??= openCatalog(this.config.catalog, this.loaded.baseDir);
    return this.catalog;
  }

  /** The source declared as `name`. Throws REPRISE_UNKNOWN_SOURCE, REPRISE_UNSUPPORTED. */
  async source(name: string): Promise<Source> {
    return createSource(name, this.sourceConfig(name), this.loaded.baseDir);
  }

  /** The configuration of source `name`. Throws REPRISE_UNKNOWN_SOURCE. */
  sourceConfig(name: string): SourceConfig {
    const config = this.config.sources[name];
    if (!config) {
      throw new RepriseError('REPRISE_UNKNOWN_SOURCE', `no source named "${name}" in ${this.loaded.file}`, {
        hint: `Declared sources: ${Object.keys(this.config.sources).join(', ') || '(none)'}.`,
      });
    }
    return config;
  }

  /** Names given, or every declared source when none is. Throws REPRISE_UNKNOWN_SOURCE. */
  sourceNames(names: string[]): string[] {
    for (const name of names) this.sourceConfig(name);
    return names.length > 0 ? names : Object.keys(this.config.sources);
  }

  private track(backend: Backend): Backend {
    this.backends.push(backend);
    return backend;
  }

  /** Closes whatever was opened. Idempotent. */
  async close(): Promise<void> {
    const handles = [this.repository, ...this.copies.values()];
    this.repository = undefined;
    this.copies.clear();
    for (const handle of handles) await handle?.then((r) => r.close()).catch(() => {});
    for (const backend of this.backends.splice(0)) await backend.close().catch(() => {});
    const catalog = this.catalog;
    this.catalog = undefined;
    await catalog?.then((c) => c.close()).catch(() => {});
  }
}

function requirePassword(password: string | undefined, where: string): string {
  if (password === undefined || password === '') {
    throw new RepriseError('REPRISE_PASSWORD_MISSING', `${where}: no password configured`);
  }
  return password;
}
