import { homedir } from 'node:os';
import path from 'node:path';

/**
 * Where Reprise keeps its local cache (files of remote repositories that never change), as the
 * environment says: `REPRISE_CACHE_DIR` (`off` for none), else `$XDG_CACHE_HOME/reprise`, else
 * `~/.cache/reprise`. Undefined means no cache. Pure but for the home folder lookup.
 */
export function defaultCacheRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const chosen = env.REPRISE_CACHE_DIR;
  if (chosen !== undefined && chosen !== '') return chosen === 'off' ? undefined : path.resolve(chosen);
  const xdg = env.XDG_CACHE_HOME;
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, 'reprise');
  const home = safeHome();
  return home === undefined ? undefined : path.join(home, '.cache', 'reprise');
}

/** The home folder, or undefined where there is none (a service user without one). */
function safeHome(): string | undefined {
  try {
    const home = homedir();
    return home === '' ? undefined : home;
  } catch {
    return undefined;
  }
}
