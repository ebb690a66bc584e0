import type { SourceConfig } from '../config/schema.js';
import { RepriseError } from '../core/errors.js';
import type { Source } from './source.js';

/** Builds a Source from its configuration; baseDir resolves relative paths. */
export type SourceFactory = (name: string, config: SourceConfig, baseDir: string) => Source;

/** Loads a plugin's factory on first use, so a command pays only for the drivers it needs. */
export type SourceLoader = () => Promise<SourceFactory>;

const loaders = new Map<string, SourceLoader>();

/** Registers the loader for a `type:`; called once per plugin in sources/index.ts. Idempotent. */
export function registerSource(type: string, load: SourceLoader): void {
  loaders.set(type, load);
}

/** Creates the source declared as `name`. Throws REPRISE_UNSUPPORTED for a type with no plugin. */
export async function createSource(name: string, config: SourceConfig, baseDir: string): Promise<Source> {
  const load = loaders.get(config.type);
  if (!load) {
    throw new RepriseError('REPRISE_UNSUPPORTED', `source "${name}": type "${config.type}" is not available in this build`, {
      hint: `Supported types: ${[...loaders.keys()].join(', ') || '(none)'}.`,
    });
  }
  return (await load())(name, config, baseDir);
}
