import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// `reprise/app` is imported by applications: its static import graph must hold no package at all
// (drivers are imported dynamically, only when a check or store of that kind is configured).
describe('reprise/app import graph', () => {
  it('reaches only node: builtins and our own files', () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      // Static imports and re-exports only; `await import(...)` is the lazy path and is allowed.
      for (const match of source.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) {
        const spec = match[1]!;
        if (/^(?:import|export)\s+type\s/.test(match[0])) continue;
        if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
        else if (!spec.startsWith('node:')) packages.add(`${spec} (from ${path.relative(process.cwd(), file)})`);
      }
    };
    visit(path.resolve(import.meta.dirname, 'index.ts'));
    expect(seen.size).toBeGreaterThan(10);
    expect([...packages]).toEqual([]);
  });
});
