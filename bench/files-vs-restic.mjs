// Issue 2 benchmark: reprise vs restic on the same generated ~1 GiB mixed tree, in one run.
// Usage: npm run build && node bench/files-vs-restic.mjs [sizeMiB]   (needs restic: apt-get install restic)
// REPEAT=n (default 3): each timed step runs n times per tool, the tools taking turns to go
// first, and the ratio is that of the medians (every pair is printed too).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateTree, seededBytes } from './gen-tree.mjs';
import { du, fmt, MiB, ratio, reprise, ROOT, timed } from './lib.mjs';

/** How long ext4 avoids reusing the inodes of deleted files: RECENTCY_MIN + RECENTCY_DIRTY seconds (fs/ext4/ialloc.c). */
const EXT4_RECENTLY_DELETED_MS = 360_000;
const sizeMiB = Number(process.argv[2] ?? 1024);
const repeat = Math.max(1, Number(process.env.REPEAT ?? 3));
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
// The last run deleted its leftovers at its end; ext4 skips recently deleted inodes when creating
// files for up to six minutes, which slowed the restores of a run started right after by up to
// 2× (more for whichever tool went later). Wait that out.
const deletedAt = path.join(work, '.deleted-at');
const sinceDelete = existsSync(deletedAt) ? Date.now() - Number(readFileSync(deletedAt, 'utf8')) : Infinity;
if (sinceDelete < EXT4_RECENTLY_DELETED_MS) {
  const wait = EXT4_RECENTLY_DELETED_MS - sinceDelete;
  console.log(`waiting ${Math.ceil(wait / 1000)} s: the previous run deleted its files ${Math.round(sinceDelete / 1000)} s ago`);
  await new Promise((resolve) => setTimeout(resolve, wait));
}
console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, node ${process.version}`);
console.log(`restic: ${execFileSync('restic', ['version'], { encoding: 'utf8' }).trim()}`);
const generated = generateTree(tree, sizeMiB);
console.log(`tree: ${generated.files} files, ${fmt(generated.bytes / MiB, 0)} MiB; each timed step ${repeat}× per tool, taking turns`);

// What earlier runs (and earlier repetitions) leave is moved aside and deleted only after the
// timed steps: deleting tens of thousands of files just before a restore makes ext4 skip their
// inodes as "recently deleted" when creating files (for up to six minutes), which cost either
// tool's restore up to 2× here.
const trash = path.join(work, `trash-${process.pid}`);
mkdirSync(trash, { recursive: true });
let trashed = 0;
const discard = (p) => {
  if (existsSync(p)) renameSync(p, path.join(trash, `${trashed++}-${path.basename(p)}`));
};
const resticRepo = path.join(work, 'restic-repo');
const repriseRepo = path.join(work, 'reprise-repo');
const catalog = path.join(work, 'catalog.db');
for (const name of readdirSync(work)) if (name.startsWith('restore-')) discard(path.join(work, name));
const config = path.join(work, 'reprise.yaml');
writeFileSync(config, `version: 1\nrepository:\n  url: ${repriseRepo}\n  password: \${REPRISE_PASSWORD}\ncatalog: ${catalog}\nsources:\n  tree: { type: files, path: ${tree} }\n`);

// Every timed step starts with nothing dirty in the page cache (`sync`, not timed): otherwise the
// second tool of a pair pays for flushing what the first one wrote (neither syncs by default).
const settle = () => execFileSync('sync');
const r = (...args) => (settle(), reprise(['-c', config, ...args], { env }));
const restic = (...args) => (settle(), timed('restic', ['-r', resticRepo, ...args], { env }));

const peaks = [];
const resticPeaks = [];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/**
 * Runs `repeat` rounds of (restic step, reprise step), the order alternating, `before(i)` first
 * (untimed). Returns the median seconds of each tool and prints every pair.
 */
async function rounds(label, before, resticStep, repriseStep) {
  const times = { restic: [], reprise: [] };
  for (let i = 0; i < repeat; i++) {
    await before(i);
    const order = i % 2 === 0 ? ['restic', 'reprise'] : ['reprise', 'restic'];
    for (const tool of order) {
      const result = tool === 'restic' ? await resticStep(i) : await repriseStep(i);
      times[tool].push(result.seconds);
      (tool === 'restic' ? resticPeaks : peaks).push([label, result.peakRssMiB]);
    }
  }
  const pairs = times.reprise.map((t, i) => `${fmt(t)}/${fmt(times.restic[i] ?? NaN)}`).join(', ');
  console.log(`${label} rounds (reprise/restic s): ${pairs}`);
  return { reprise: median(times.reprise), restic: median(times.restic) };
}

// First backup, into a new repository each round (page cache warmed equally for both by the generation just done).
const first = await rounds(
  'backup 1',
  async () => {
    for (const p of [resticRepo, repriseRepo, env.RESTIC_CACHE_DIR, catalog, `${catalog}-wal`, `${catalog}-shm`]) discard(p);
    await timed('restic', ['-r', resticRepo, 'init'], { env });
    await reprise(['-c', config, 'init'], { env });
  },
  () => restic('backup', '--quiet', tree),
  () => r('backup'),
);
const resticStored1 = du(resticRepo);
const repriseStored1 = du(repriseRepo);
console.log('\n## first backup');
const t1 = ratio('wall time (medians)', first.reprise, 'restic', first.restic, ' s');
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

// Second backup: once per tool (a repetition would find nothing changed).
const resticSecond = await restic('backup', '--quiet', tree);
resticPeaks.push(['backup 2', resticSecond.peakRssMiB]);
const resticStored2 = du(resticRepo);
const repriseSecond = await r('backup');
peaks.push(['backup 2', repriseSecond.peakRssMiB]);
const repriseStored2 = du(repriseRepo);
console.log('## second backup');
ratio('wall time', repriseSecond.seconds, 'restic', resticSecond.seconds, ' s');
const secondVsFirst = repriseSecond.seconds / first.reprise;
console.log(`reprise second/first wall time = ${fmt(secondVsFirst, 3)}× (target ≤ 0.5)`);
const growth = (repriseStored2 - repriseStored1) / changedBytes;
console.log(`reprise stored growth ${fmt((repriseStored2 - repriseStored1) / MiB)} MiB vs changed ${fmt(changedBytes / MiB)} MiB = ${fmt(growth, 3)}× (target ≤ 1.5; restic ${fmt((resticStored2 - resticStored1) / changedBytes, 3)}×)`);

// Restore, into a new folder each round (deleted only at the end, see above).
const restored = await rounds(
  'restore',
  async () => {},
  (i) => restic('restore', 'latest', '--target', path.join(work, `restore-restic-${i}`)),
  (i) => r('restore', 'tree', '--to', path.join(work, `restore-reprise-${i}`)),
);
console.log('## restore');
const t3 = ratio('wall time (medians)', restored.reprise, 'restic restore', restored.restic, ' s');

// Check --read-data.
const checked = await rounds(
  'check',
  async () => {},
  () => restic('check', '--read-data'),
  () => r('check', '--read-data'),
);
console.log('## check --read-data');
const rate = du(repriseRepo) / MiB / checked.reprise;
console.log(`reprise ${fmt(rate, 0)} MiB/s of stored data (median; target ≥ 400); restic check --read-data ${fmt(checked.restic)} s vs reprise ${fmt(checked.reprise)} s = ${fmt(checked.reprise / checked.restic, 3)}×`);

console.log('## peak RSS (highest of all rounds)');
const highest = (list, label) => Math.max(...list.filter(([l]) => l === label).map(([, m]) => m));
for (const label of ['backup 1', 'backup 2', 'restore', 'check']) {
  console.log(`${label}: reprise ${fmt(highest(peaks, label), 0)} MiB, restic ${fmt(highest(resticPeaks, label), 0)} MiB`);
}
const peak = Math.max(...peaks.map(([, m]) => m));

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

for (const name of readdirSync(work)) if (name.startsWith('trash-') || name.startsWith('restore-')) rmSync(path.join(work, name), { recursive: true, force: true });
writeFileSync(deletedAt, String(Date.now()));
