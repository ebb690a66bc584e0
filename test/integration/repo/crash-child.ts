// Child process for local-backend.test.ts: backs up an endless pseudo-random stream into the
// repository at argv[2] until the parent kills it with SIGKILL.
import { Repository } from '../../../src/repo/repository.js';
import { LocalBackend } from '../../../src/storage/local/index.js';
import { pseudoRandomBlock } from './helpers.js';

const [dir, seed] = process.argv.slice(2) as [string, string];
const repo = await Repository.open({ backend: new LocalBackend(dir), password: 'pw', indexFlushPacks: 1 });
async function* endless(): AsyncIterable<Uint8Array> {
  for (let i = 0; ; i++) yield pseudoRandomBlock(seed, i);
}
const writer = repo.newWriter({ signal: new AbortController().signal });
await writer.addPart({ name: 'endless', type: 'file' }, endless());
