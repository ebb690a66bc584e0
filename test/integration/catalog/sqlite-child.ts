// Run in a child process by catalog.test.ts (bundled with esbuild): a second writer on one SQLite
// catalog. Usage: node child.mjs FILE write COUNT TAG GOFILE | node child.mjs FILE hold LOCKNAME
import { existsSync } from 'node:fs';
import { openSqliteCatalog } from '../../../src/catalog/sqlite/index.js';

const [file, mode, arg, tag, go] = process.argv.slice(2);
if (go) {
  // A start line: writers open (and so migrate) a fresh file within a millisecond of each other.
  process.stdout.write('ready\n');
  while (!existsSync(go)) await new Promise((resolve) => setTimeout(resolve, 1));
}
const catalog = await openSqliteCatalog(file!);
if (mode === 'write') {
  for (let i = 0; i < Number(arg); i++) {
    const id = await catalog.startRun({ kind: 'backup', subject: tag!, figures: { i } });
    await catalog.finishRun(id, { status: 'ok', figures: { done: true } });
  }
  await catalog.close();
} else if (mode === 'hold') {
  await catalog.withLock(arg!, async () => {
    process.stdout.write('locked\n');
    await new Promise(() => {});
  });
}
