import { describe, expect, it } from 'vitest';
import { isRepriseError } from '../../core/errors.js';
import { compileExcludes } from './exclude.js';

describe('compileExcludes', () => {
  it('matches a basename glob at any depth, files and dirs alike', () => {
    const m = compileExcludes(['*.tmp']);
    expect(m('a.tmp', false)).toBe(true);
    expect(m('x/y/z.tmp', false)).toBe(true);
    expect(m('x/.hidden.tmp', false)).toBe(true);
    expect(m('d.tmp', true)).toBe(true);
    expect(m('a.tmpx', false)).toBe(false);
    expect(m('a.tmp/b', false)).toBe(false);
  });

  it('a trailing slash matches directories only, anywhere', () => {
    const m = compileExcludes(['cache/']);
    expect(m('cache', true)).toBe(true);
    expect(m('a/b/cache', true)).toBe(true);
    expect(m('cache', false)).toBe(false);
    expect(m('cached', true)).toBe(false);
  });

  it('a pattern with a slash is anchored at the root', () => {
    const m = compileExcludes(['logs/*.log', '/top']);
    expect(m('logs/a.log', false)).toBe(true);
    expect(m('x/logs/a.log', false)).toBe(false);
    expect(m('top', true)).toBe(true);
    expect(m('a/top', true)).toBe(false);
  });

  it('** spans directories', () => {
    const m = compileExcludes(['**/build/**/*.o']);
    expect(m('build/x.o', false)).toBe(true);
    expect(m('a/build/b/c/x.o', false)).toBe(true);
    expect(m('a/build/x.c', false)).toBe(false);
  });

  it('no pattern excludes nothing', () => {
    expect(compileExcludes([])('anything', false)).toBe(false);
  });

  it('rejects negation and empty patterns', () => {
    for (const bad of ['!keep', '/', '  ']) {
      let caught: unknown;
      try {
        compileExcludes([bad]);
      } catch (err) {
        caught = err;
      }
      expect(isRepriseError(caught, 'REPRISE_CONFIG_INVALID')).toBe(true);
    }
  });
});
