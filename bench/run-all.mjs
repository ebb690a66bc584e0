// `npm run bench`: runs every benchmark in turn, each printing reprise against its baseline as
// ratios from one run, plus peak memory. Pass names to run only some: npm run bench -- files postgres
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib.mjs';

const skip = new Set(['lib.mjs', 'run-all.mjs', 'gen-tree.mjs', 'app-common.mjs']);
const wanted = process.argv.slice(2);
const benches = readdirSync(path.join(ROOT, 'bench'))
  .filter((f) => f.endsWith('.mjs') && !skip.has(f) && !f.startsWith('_'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)));
let failed = 0;
for (const file of benches) {
  console.log(`\n# bench/${file}  (${new Date().toISOString()})`);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bench', file)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
