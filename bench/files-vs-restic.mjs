// Issue 2 benchmark: reprise vs restic on the same generated ~1 GiB mixed tree, one run.
// Usage: npm run build && node bench/files-vs-restic.mjs [sizeMiB]   (needs restic: apt-get install restic)
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateTree, seededBytes } from './gen-tree.mjs';
import { du, fmt, MiB, ratio, reprise, ROOT, timed } from './lib.mjs';

const sizeMiB = Number(process.argv[2] ?? 1024);
const work = path.join(ROOT, 'bench/.data/files');
const tree = path.join(work, 'tree');
const password = 'bench-password';
const env = { RESTIC_PASSWORD: password, REPRISE_PASSWORD: password, RESTIC_CACHE_DIR: path.join(work, 'restic-cache') };

try {
  execFileSync('restic', ['version'], { stdio: 'ignore' });
} catch {
  console.error('restic is not installed: apt-get install restic');
  process.exit(2);
}

mkdirSync(work, { recursive: true });
console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, node ${process.version}`);
console.log(`restic: ${execFileSync('restic', ['version'], { encoding: 'utf8' }).trim()}`);
const generated = generateTree(tree, sizeMiB);
console.log(`tree: ${generated.files} files, ${fmt(generated.bytes / MiB, 0)} MiB`);

const resticRepo = path.join(work, 'restic-repo');
const repriseRepo = path.join(work, 'reprise-repo');
for (const p of [resticRepo, repriseRepo, path.join(work, 'restore-restic'), path.join(work, 'restore-reprise'), env.RESTIC_CACHE_DIR]) rmSync(p, { recursive: true, force: true });
const config = path.join(work, 'reprise.yaml');
writeFileSync(config, `version: 1\nrepository:\n  url: ${repriseRepo}\n  password: \${REPRISE_PASSWORD}\ncatalog: ${path.join(work, 'catalog.db')}\nsources:\n  tree: { type: files, path: ${tree} }\n`);
rmSync(path.join(work, 'catalog.db'), { force: true });
// Every timed step starts with nothing dirty in the page cache (`sync`, not timed): otherwise the
// second tool of a pair pays for flushing what the first one wrote (neither syncs by default).
const settle = () => execFileSync('sync');
const r = (...args) => (settle(), reprise(['-c', config, ...args], { env }));
const restic = (...args) => (settle(), timed('restic', ['-r', resticRepo, ...args], { env }));

await restic('init');
await r('init');

const peaks = [];
const track = (label, result) => {
  peaks.push([label, result.peakRssMiB]);
  return result;
};

// First backup (page cache warmed equally for both by the generation just done).
const resticFirst = await restic('backup', '--quiet', tree);
const resticStored1 = du(resticRepo);
const repriseFirst = track('backup 1', await r('backup'));
const repriseStored1 = du(repriseRepo);
console.log('\n## first backup');
const t1 = ratio('wall time', repriseFirst.seconds, 'restic', resticFirst.seconds, ' s');
const s1 = ratio('stored bytes', repriseStored1 / MiB, 'restic', resticStored1 / MiB, ' MiB');

// Change 1% of the files (every 100th), rewriting them with new content.
const all = [];
const walk = (d) => {
  for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else all.push(p);
  }
};
walk(tree);
let changedBytes = 0;
for (let i = 0; i < all.length; i += 100) {
  const size = statSync(all[i]).size;
  writeFileSync(all[i], seededBytes(`changed${i}`, size));
  changedBytes += size;
}
console.log(`\nchanged ${Math.ceil(all.length / 100)} files (1%), ${fmt(changedBytes / MiB)} MiB`);

const resticSecond = await restic('backup', '--quiet', tree);
const resticStored2 = du(resticRepo);
const repriseSecond = track('backup 2', await r('backup'));
const repriseStored2 = du(repriseRepo);
console.log('## second backup');
ratio('wall time', repriseSecond.seconds, 'restic', resticSecond.seconds, ' s');
const secondVsFirst = repriseSecond.seconds / repriseFirst.seconds;
console.log(`reprise second/first wall time = ${fmt(secondVsFirst, 3)}× (target ≤ 0.5)`);
const growth = (repriseStored2 - repriseStored1) / changedBytes;
console.log(`reprise stored growth ${fmt((repriseStored2 - repriseStored1) / MiB)} MiB vs changed ${fmt(changedBytes / MiB)} MiB = ${fmt(growth, 3)}× (target ≤ 1.5; restic ${fmt((resticStored2 - resticStored1) / changedBytes, 3)}×)`);

// Restore.
const resticRestore = await restic('restore', 'latest', '--target', path.join(work, 'restore-restic'));
const repriseRestore = track('restore', await r('restore', 'tree', '--to', path.join(work, 'restore-reprise')));
console.log('## restore');
const t3 = ratio('wall time', repriseRestore.seconds, 'restic restore', resticRestore.seconds, ' s');

// Check --read-data.
const resticCheck = await restic('check', '--read-data');
const repriseCheck = track('check', await r('check', '--read-data'));
console.log('## check --read-data');
const rate = du(repriseRepo) / MiB / repriseCheck.seconds;
console.log(`reprise ${fmt(rate, 0)} MiB/s of stored data (target ≥ 400); restic check --read-data ${fmt(resticCheck.seconds)} s vs reprise ${fmt(repriseCheck.seconds)} s = ${fmt(repriseCheck.seconds / resticCheck.seconds, 3)}×`);

console.log('## peak RSS (reprise)');
for (const [label, mib] of peaks) console.log(`${label}: ${fmt(mib, 0)} MiB`);
const peak = Math.max(...peaks.map(([, m]) => m));
console.log(`restic peak RSS: backup ${fmt(resticFirst.peakRssMiB, 0)} MiB, restore ${fmt(resticRestore.peakRssMiB, 0)} MiB`);

const verdict = [
  ['first backup ≤ 1.0× restic', t1 <= 1.0],
  ['stored ≤ 1.05× restic', s1 <= 1.05],
  ['second ≤ 0.5× first', secondVsFirst <= 0.5],
  ['growth ≤ 1.5× changed', growth <= 1.5],
  ['restore ≤ 1.0× restic', t3 <= 1.0],
  ['check ≥ 400 MiB/s', rate >= 400],
  ['peak RSS ≤ 256 MiB', peak <= 256],
];
console.log('\n## targets');
for (const [name, ok] of verdict) console.log(`${ok ? 'met ' : 'MISS'} ${name}`);
