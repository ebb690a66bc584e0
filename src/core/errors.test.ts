import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, RepriseError, toRepriseError } from './errors.js';
import { EXIT } from './exit-codes.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

describe('error registry', () => {
  it('is documented code by code in docs/errors.md (node scripts/gen-errors-doc.mjs regenerates it)', () => {
    const documented = [...doc.matchAll(/^\| `(REPRISE_[A-Z_]+)` \| (\d+) \|/gm)].map((m) => [m[1], Number(m[2])]);
    const registry = Object.entries(ERROR_CODES).map(([code, spec]) => [code, spec.exit]);
    expect(documented).toEqual(registry);
  });

  it('documents every exit code', () => {
    for (const [name, code] of Object.entries(EXIT)) expect(doc).toContain(`| ${code} | ${name} |`);
  });

  it('carries code, hint and exit code', () => {
    const err = new RepriseError('REPRISE_REPO_LOCKED', 'locked by host a');
    expect(err.exitCode).toBe(EXIT.REPO_LOCKED);
    expect(err.hint).toMatch(/unlock/);
    expect(new RepriseError('REPRISE_REPO_LOCKED', 'x', { hint: 'custom' }).hint).toBe('custom');
  });

  it('maps aborts and unknown errors', () => {
    const abort = new DOMException('stop', 'AbortError');
    expect(toRepriseError(abort).code).toBe('REPRISE_ABORTED');
    expect(toRepriseError(new Error('boom')).code).toBe('REPRISE_INTERNAL');
  });
});
