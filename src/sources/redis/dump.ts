import type { Redis } from 'ioredis';
import { RepriseError } from '../../core/errors.js';
import { encodeRecords, encodeTrailer, MAGIC, type RedisRecord } from './format.js';
import { DEFERRED, SCAN_DUMP_SCRIPT, scriptsRefused } from './scripts.js';

/** Keys per SCAN step and per MULTI batch: big enough to amortise round trips, small enough to not stall the server. */
export const BATCH = 1000;

/**
 * One SCAN step with PTTL + DUMP of each key, done in a Lua script (one round trip, atomic per
 * batch), or undefined when scripts are refused. Throws other Redis errors.
 */
async function scanDumpScript(client: Redis, cursor: string, budget: number): Promise<{ next: string; records: RedisRecord[] } | undefined> {
  let reply: unknown[];
  try {
    reply = (await client.callBuffer('EVAL', SCAN_DUMP_SCRIPT, '0', cursor, String(BATCH), String(budget))) as unknown[];
  } catch (err) {
    if (scriptsRefused(err)) return undefined;
    throw err;
  }
  const records: RedisRecord[] = [];
  for (let i = 1; i + 2 < reply.length; i += 3) {
    const pttl = Number(reply[i + 1]);
    records.push({ key: reply[i] as Buffer, pttl, payload: reply[i + 2] as Buffer });
  }
  return { next: String(reply[0]), records };
}

/** PTTL + DUMP of `keys` in one MULTI; keys gone meanwhile are left out. Throws Redis errors. */
async function dumpKeys(client: Redis, fresh: Buffer[]): Promise<RedisRecord[]> {
  const records: RedisRecord[] = [];
  if (fresh.length === 0) return records;
  const multi = client.multi();
  for (const key of fresh) multi.pttl(key).dumpBuffer(key);
  const replies = await multi.exec();
  if (!replies) throw new RepriseError('REPRISE_SOURCE_UNREADABLE', 'Redis aborted a MULTI during the dump');
  for (let i = 0; i < fresh.length; i++) {
    const [ttlErr, pttl] = replies[2 * i] ?? [];
    const [dumpErr, payload] = replies[2 * i + 1] ?? [];
    const err = ttlErr ?? dumpErr;
    if (err) throw new RepriseError('REPRISE_SOURCE_UNREADABLE', `Redis refused to dump a key: ${err.message}`, { cause: err });
    // Gone since SCAN (deleted or expired): not part of the copy.
    if (payload === null || pttl === -2) continue;
    records.push({ key: fresh[i] as Buffer, pttl: Number(pttl), payload: payload as Buffer });
  }
  return records;
}

/** The step without scripts: SCAN, then one MULTI with PTTL + DUMP per key. Throws Redis errors. */
async function scanDumpMulti(client: Redis, cursor: string): Promise<{ next: string; records: RedisRecord[] }> {
  const [next, keys] = await client.scanBuffer(cursor, 'COUNT', BATCH);
  const inBatch = new Set<string>();
  const fresh = keys.filter((k) => {
    const id = k.toString('latin1');
    if (inBatch.has(id)) return false;
    inBatch.add(id);
    return true;
  });
  return { next: next.toString(), records: await dumpKeys(client, fresh) };
}

/**
 * Streams every key of the selected database as records (see format.ts): per SCAN step, PTTL +
 * DUMP of each key in one atomic step (a Lua script, or MULTI when scripts are refused), so each
 * key's value and TTL are read together. Keys deleted meanwhile are skipped. SCAN may return a
 * key twice (while the table rehashes): the stream then holds it twice, which restore's REPLACE
 * makes harmless; a set of every key seen would make memory grow with the database. Throws the
 * client's errors, REPRISE_ABORTED. Not idempotent (reads a live db).
 */
export async function* dumpRedisDb(
  client: Redis,
  signal: AbortSignal,
  stats: { keys: number; method?: string } = { keys: 0 },
  budget = 8 * 2 ** 20,
): AsyncGenerator<Uint8Array> {
  yield MAGIC;
  let useScript = true;
  let cursor = '0';
  do {
    signal.throwIfAborted();
    let step = useScript ? await scanDumpScript(client, cursor, budget) : undefined;
    if (!step) {
      useScript = false;
      step = await scanDumpMulti(client, cursor);
    }
    stats.method = useScript ? 'lua' : 'multi';
    cursor = step.next;
    const ready = step.records.filter((r) => r.pttl !== DEFERRED);
    stats.keys += ready.length;
    if (ready.length > 0) yield encodeRecords(ready);
    // Large values, one at a time: memory holds one of them, not a batch of them.
    for (const deferred of step.records.filter((r) => r.pttl === DEFERRED)) {
      signal.throwIfAborted();
      const alone = await dumpKeys(client, [deferred.key]);
      stats.keys += alone.length;
      if (alone.length > 0) yield encodeRecords(alone);
    }
  } while (cursor !== '0');
  yield encodeTrailer(stats.keys);
}
