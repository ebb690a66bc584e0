import type { SourceConfig } from '../config/schema.js';
import { RepriseError } from '../core/errors.js';
import type { Source } from './source.js';

/** Builds a Source from its configuration; baseDir resolves relative paths. */
export type SourceFactory = (name: string, config: SourceConfig, baseDir: string) => Source;

const factories = new Map<string, SourceFactory>();

/** Registers the factory for a `type:`; called once per plugin in sources/index.ts. Idempotent. */
export function registerSource(type: string, factory: SourceFactory): void {
  factories.set(type, factory);
}

/** Creates the source declared as `name`. Throws REPRISE_UNSUPPORTED for a type with no plugin. */
export function createSource(name: string, config: SourceConfig, baseDir: string): Source {
  const factory = factories.get(config.type);
  if (!factory) {
    throw new RepriseError('REPRISE_UNSUPPORTED', `source "${name}": type "${config.type}" is not available in this build`, {
      hint: `Supported types: ${[...factories.keys()].join(', ') || '(none)'}.`,
    });
  }
  return factory(name, config, baseDir);
}
