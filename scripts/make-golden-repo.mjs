// Writes the golden fixture repository of the format this build writes (and expected.json beside
// it): test/fixtures/golden-repo/ for format 1, golden-repo-v<N>/ for later ones. Run after
// `npm run build`, only when the format version changes: each committed fixture is what every
// later version must still read.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FORMAT_VERSION } from '../dist/repo/format.js';
import { Repository } from '../dist/repo/repository.js';
import { LocalBackend } from '../dist/storage/local/index.js';

const root = fileURLToPath(new URL(`../test/fixtures/${FORMAT_VERSION === 1 ? 'golden-repo' : `golden-repo-v${FORMAT_VERSION}`}/`, import.meta.url));
rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });

let state = 12345;
function bytes(n) {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}
const text = Buffer.from(Array.from({ length: 400 }, (_, i) => `row ${i}: insert into t values (${i * 7}, 'golden');\n`).join(''));
const files = [
  { name: 'dump/schema.sql', data: Buffer.from('create table t (id int, name text);\n') },
  { name: 'dump/data.sql', data: text },
  { name: 'blob.bin', data: bytes(9000) },
  { name: 'empty', data: Buffer.alloc(0) },
];

const backend = new LocalBackend(`${root}repo`);
const repo = await Repository.init({ backend, password: 'golden-password', hostname: 'golden-host', chunker: { avgSize: 4096 }, clock: () => Date.parse('2026-01-01T00:00:00Z') });
const writer = repo.newWriter({ signal: new AbortController().signal });
await writer.addPart({ name: 'dump', type: 'dir', mode: 0o40755 });
for (const f of files) await writer.addPart({ name: f.name, type: 'file', mode: 0o100644, mtimeMs: 1767225600000, size: f.data.length }, [f.data]);
await writer.addPart({ name: 'link', type: 'symlink', linkTarget: 'blob.bin' });
const snap = await writer.commit({ source: 'golden', sourceKind: 'files', tags: ['golden'], info: { kind: 'files', location: '/golden', versions: { reprise: '0.1.0' }, facts: {} } });
await repo.close();
await backend.close();

const expected = {
  password: 'golden-password',
  snapshot: snap.id,
  parts: Object.fromEntries(files.map((f) => [f.name, createHash('sha256').update(f.data).digest('hex')])),
};
writeFileSync(`${root}expected.json`, JSON.stringify(expected, null, 2) + '\n');
console.log(`golden repository written: snapshot ${snap.id}`);
