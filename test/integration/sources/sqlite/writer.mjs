// A stand-in application: inserts rows 1, 2, 3… one transaction each, as fast as it can, until
// killed (or 60 s at most). Prints "ready" once the table exists, then the last id on exit.
import Database from 'better-sqlite3';

const [path, journalMode] = process.argv.slice(2);
const db = new Database(path);
db.pragma(`journal_mode = ${journalMode}`);
db.pragma('busy_timeout = 10000');
// Speed, not durability: the test needs many commits per second on a slow shared disk.
db.pragma('synchronous = OFF');
db.exec('CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)');
const insert = db.prepare('INSERT INTO events (id, payload) VALUES (?, ?)');
let id = (db.prepare('SELECT COALESCE(MAX(id), 0) AS m FROM events').get()).m;
process.stdout.write('ready\n');
const stopAt = Date.now() + 60_000;
let stop = false;
process.on('SIGTERM', () => { stop = true; });
function batch() {
  for (let i = 0; i < 50 && Date.now() < stopAt; i++) {
    id += 1;
    insert.run(id, `row ${id} ` + 'p'.repeat(id % 200));
  }
  if (stop || Date.now() >= stopAt) {
    db.close();
    process.stdout.write(`last ${id}\n`);
    process.exit(0);
  }
  setImmediate(batch);
}
batch();
