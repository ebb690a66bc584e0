import picomatch from 'picomatch';
import { RepriseError } from '../../core/errors.js';

/** Decides whether a walked entry is left out; `relPath` is '/'-separated, relative to the root. */
export type ExcludeMatcher = (relPath: string, isDir: boolean) => boolean;

interface CompiledPattern {
  test: (input: string) => boolean;
  /** Matched against the last path segment only (a pattern without an inner or leading slash). */
  basenameOnly: boolean;
  dirOnly: boolean;
}

/**
 * Compiles .gitignore-like exclude globs (picomatch syntax): `*.tmp` matches a basename at any
 * depth, a trailing `/` (`cache/`) matches directories only, a pattern holding a `/` (`a/b`,
 * `/top`) is anchored at the root, `**` spans directories. Dot files are matched like others.
 * Throws REPRISE_CONFIG_INVALID for an empty or negated (`!x`) pattern. Pure, idempotent.
 */
export function compileExcludes(patterns: readonly string[]): ExcludeMatcher {
  const compiled = patterns.map(compilePattern);
  if (compiled.length === 0) return () => false;
  return (relPath, isDir) => {
    const slash = relPath.lastIndexOf('/');
    const base = slash === -1 ? relPath : relPath.slice(slash + 1);
    for (const pattern of compiled) {
      if (pattern.dirOnly && !isDir) continue;
      if (pattern.test(pattern.basenameOnly ? base : relPath)) return true;
    }
    return false;
  };
}

function compilePattern(raw: string): CompiledPattern {
  let pattern = raw.trim();
  if (pattern.startsWith('!')) {
    throw new RepriseError('REPRISE_CONFIG_INVALID', `exclude pattern "${raw}": negation (!) is not supported`, {
      hint: 'List only the paths to leave out; anything not matched is backed up.',
    });
  }
  const dirOnly = pattern.endsWith('/');
  pattern = pattern.replace(/\/+$/, '');
  const anchored = pattern.includes('/');
  pattern = pattern.replace(/^\/+/, '');
  if (pattern === '') {
    throw new RepriseError('REPRISE_CONFIG_INVALID', `exclude pattern "${raw}" is empty`, {
      hint: 'Remove the empty entry from `exclude:`.',
    });
  }
  const test = picomatch(pattern, { dot: true, windows: false });
  return { test, basenameOnly: !anchored, dirOnly };
}
