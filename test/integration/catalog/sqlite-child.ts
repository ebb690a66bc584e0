// Run in a child process by catalog.test.ts (bundled with esbuild): a second writer on one SQLite
// catalog. Usage: node child.mjs FILE write COUNT TAG | node child.mjs FILE hold LOCKNAME
import { openSqliteCatalog } from '../../../src/catalog/sqlite/index.js';

const [file, mode, arg, tag] = process.argv.slice(2);
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
