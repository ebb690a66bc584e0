// Post-build step: bundles the CLI (dist/cli/main.js and everything it imports) into dist/bin/,
// the `reprise` command users run. Loading ~360 small ES modules (ours, zod, commander, …) took
// ~80 ms of every command's start; one bundle, with lazily loaded chunks for the sources and
// backends a run may not need, loads in a fraction of that. Native addons and the AWS SDK stay
// outside, loaded from node_modules as before.
import { rmSync } from 'node:fs';
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
  logLevel: 'warning',
});
