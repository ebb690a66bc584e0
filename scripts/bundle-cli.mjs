// Post-build step: bundles the CLI (dist/cli/main.js and everything it imports) into dist/bin/,
// the `reprise` command users run. Loading ~360 small ES modules (ours, zod, commander, …) took
// ~80 ms of every command's start; one bundle, with lazily loaded chunks for the sources and
// backends a run may not need, loads in a fraction of that. Native addons and the AWS SDK stay
// outside, loaded from node_modules as before.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const outdir = new URL('../dist/bin/', import.meta.url).pathname;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { reprise: new URL('../dist/cli/main.js', import.meta.url).pathname },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'zstd-napi', '@aws-sdk/*'],
  // CommonJS dependencies call require() for Node's own modules: give each chunk a real one.
  banner: { js: "import { createRequire as __repriseCreateRequire } from 'node:module'; const require = __repriseCreateRequire(import.meta.url);" },
  // License notices of bundled packages go to *.LEGAL.txt beside each file (kept out of the code, see below).
  legalComments: 'external',
  logLevel: 'warning',
});

// esbuild escapes every non-ASCII character in code, but leaves comments as they are: one "→" in
// a comment makes V8 hold the whole file's source as a two-byte string (1.2 MiB instead of 0.6
// for dist/bin/reprise.js) and scan it more slowly. Those characters become ASCII escapes, inert
// in a comment; one anywhere else stops the build, rather than have its meaning changed.
const NON_ASCII = /[^\x00-\x7F]/gu;
for (const name of readdirSync(outdir).filter((n) => n.endsWith('.js'))) {
  const file = `${outdir}${name}`;
  const text = readFileSync(file, 'utf8');
  if (text.search(NON_ASCII) < 0) continue;
  const lines = text.split('\n').map((line, i) => {
    const at = line.search(NON_ASCII);
    if (at < 0) return line;
    const trimmed = line.trimStart();
    const commentAt = line.indexOf('//');
    const inComment = trimmed.startsWith('*') || trimmed.startsWith('/*') || (commentAt >= 0 && commentAt < at);
    if (!inComment) throw new Error(`${name}:${i + 1}: a non-ASCII character outside a comment; escape it in the source`);
    return line.replace(NON_ASCII, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);
  });
  writeFileSync(file, lines.join('\n'));
}
