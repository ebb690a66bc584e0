// The README's first command: a guided run of the main job on embedded defaults
// (a local repository and the SQLite catalog under ./demo), narrating what it does.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const demo = path.join(root, 'demo');
const cli = path.join(root, 'dist/bin/reprise.js');
const env = { ...process.env, REPRISE_PASSWORD: process.env.REPRISE_PASSWORD ?? 'demo-password-change-me', REPRISE_CONFIG: path.join(demo, 'reprise.yaml') };

function say(text) {
  process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
}
function reprise(...args) {
  process.stdout.write(`$ reprise ${args.join(' ')}\n`);
  const out = execFileSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(out);
  return out;
}
function digest(dir) {
  const hash = createHash('sha256');
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      hash.update(path.relative(dir, p));
      if (st?.isDirectory()) walk(p);
      else if (st?.isFile()) hash.update(readFileSync(p));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

rmSync(demo, { recursive: true, force: true });
const data = path.join(demo, 'site');
mkdirSync(path.join(data, 'uploads/2026/11'), { recursive: true });
mkdirSync(path.join(data, 'empty-dir'), { recursive: true });
for (let i = 0; i < 200; i++) {
  writeFileSync(path.join(data, `uploads/2026/11/note-${i}.txt`), `Note ${i}\n${'Réservation confirmée. '.repeat(50 + i)}\n`);
}
writeFileSync(path.join(data, 'uploads/photo.bin'), randomBytes(3 * 1024 * 1024));
writeFileSync(path.join(data, 'app.log'), Array.from({ length: 40000 }, (_, i) => `2026-11-25T10:${String(i % 60).padStart(2, '0')} GET /api/${i % 97} 200\n`).join(''));
writeFileSync(path.join(data, 'cache.tmp'), 'excluded');
symlinkSync('uploads/photo.bin', path.join(data, 'latest-photo'));
writeFileSync(
  path.join(demo, 'reprise.yaml'),
  `version: 1
project: demo
repository:
  url: ./repo
  password: \${REPRISE_PASSWORD}
catalog: ./catalog.db
defaults:
  objectives: { rpo: 1h, rto: 30m }
  retention: { hourly: 24, daily: 7, weekly: 4, monthly: 12 }
sources:
  site:
    type: files
    path: ./site
    exclude: ["*.tmp"]
`,
);

say('A sample site under demo/site and a three-line reprise.yaml');
process.stdout.write(readFileSync(path.join(demo, 'reprise.yaml'), 'utf8'));
say('Create the encrypted repository and the catalog');
reprise('init');
say('First backup');
reprise('backup');
say('Change one file and back up again: only the change is stored');
writeFileSync(path.join(data, 'uploads/2026/11/note-7.txt'), 'changed\n');
reprise('backup');
say('Snapshots');
reprise('snapshots');
say('Restore the latest snapshot into a new folder and compare');
reprise('restore', 'site', '--to', path.join(demo, 'restored'));
rmSync(path.join(data, 'cache.tmp'));
const same = digest(data) === digest(path.join(demo, 'restored'));
process.stdout.write(`content of demo/restored ${same ? 'matches' : 'DIFFERS FROM'} demo/site (cache.tmp was excluded)\n`);
say('Verify every stored byte');
reprise('check', '--read-data');
say('Repository statistics');
reprise('stats');
say('What retention would keep');
reprise('forget', '--dry-run');
say(`Done. Everything is under ${path.relative(process.cwd(), demo) || demo}; try: REPRISE_CONFIG=demo/reprise.yaml REPRISE_PASSWORD=${env.REPRISE_PASSWORD} dist/bin/reprise.js --help`);
if (!same) process.exit(1);
