import { describe, expect, it } from 'vitest';
import { isRepriseError } from '../../core/errors.js';
import { partSegments } from './part-name.js';

describe('partSegments', () => {
  it('splits relative names and maps the root to no segment', () => {
    expect(partSegments('.')).toEqual([]);
    expect(partSegments('a')).toEqual(['a']);
    expect(partSegments('a/b c/é.txt')).toEqual(['a', 'b c', 'é.txt']);
    expect(partSegments('..a/b..')).toEqual(['..a', 'b..']);
  });

  it('rejects names that could escape the target', () => {
    for (const bad of ['', '/etc/passwd', '..', '../x', 'a/../../x', 'a/..', 'a//b', 'a/./b', './a', 'a/', 'a\0b']) {
      let caught: unknown;
      try {
        partSegments(bad);
      } catch (err) {
        caught = err;
      }
      expect(isRepriseError(caught, 'REPRISE_INTEGRITY'), bad).toBe(true);
    }
  });
});
