import { homedir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCacheRoot } from './cache-dir.js';

describe('defaultCacheRoot', () => {
  it('takes REPRISE_CACHE_DIR first (resolved), and `off` turns the cache off', () => {
    expect(defaultCacheRoot({ REPRISE_CACHE_DIR: '/var/cache/reprise', XDG_CACHE_HOME: '/x' })).toBe('/var/cache/reprise');
    expect(defaultCacheRoot({ REPRISE_CACHE_DIR: 'rel' })).toBe(path.resolve('rel'));
    expect(defaultCacheRoot({ REPRISE_CACHE_DIR: 'off', XDG_CACHE_HOME: '/x' })).toBeUndefined();
  });

  it('then $XDG_CACHE_HOME/reprise when absolute (the XDG spec ignores relative ones), then ~/.cache/reprise', () => {
    expect(defaultCacheRoot({ XDG_CACHE_HOME: '/home/u/.xdg' })).toBe('/home/u/.xdg/reprise');
    expect(defaultCacheRoot({ XDG_CACHE_HOME: 'relative' })).toBe(path.join(homedir(), '.cache', 'reprise'));
    expect(defaultCacheRoot({ REPRISE_CACHE_DIR: '' })).toBe(path.join(homedir(), '.cache', 'reprise'));
  });
});
