import type { Redis } from 'ioredis';
import { RepriseError } from '../../core/errors.js';
import { encodeRecords, encodeTrailer, MAGIC, type RedisRecord } from './format.js';

/** Keys per SCAN step and per MULTI batch: big enough to amortise round trips, small enough to not stall the server. */
export const BATCH = 1000;

/**
 * Streams every key of the selected database as records (see format.ts): SCAN, then per batch
 * one MULTI with PTTL + DUMP of each key, so each key's value and TTL are read together.
 * Keys deleted between SCAN and DUMP are skipped. SCAN may return a key twice (while the table
 * rehashes): the stream may then hold it twice, which restore's REPLACE makes harmless; keeping
 * a set of every key seen would make memory grow with the database. Throws
 * REPRISE_SOURCE_UNREADABLE on a Redis error, REPRISE_ABORTED. Not idempotent (reads a live db).
 */
export async function* dumpRedisDb(client: Redis, signal: AbortSignal, stats: { keys: number } = { keys: 0 }): AsyncGenerator<Uint8Array> {
  yield MAGIC;
  let cursor = '0';
  do {
    signal.throwIfAborted();
    const [next, keys] = await client.scanBuffer(cursor, 'COUNT', BATCH);
    cursor = next.toString();
    const inBatch = new Set<string>();
    const fresh = keys.filter((k) => {
      const id = k.toString('latin1');
      if (inBatch.has(id)) return false;
      inBatch.add(id);
      return true;
    });
    if (fresh.length === 0) continue;
    const multi = client.multi();
    for (const key of fresh) multi.pttl(key).dumpBuffer(key);
    const replies = await multi.exec();
    if (!replies) throw new RepriseError('REPRISE_SOURCE_UNREADABLE', 'Redis aborted a MULTI during the dump');
    const records: RedisRecord[] = [];
    for (let i = 0; i < fresh.length; i++) {
      const [ttlErr, pttl] = replies[2 * i] ?? [];
      const [dumpErr, payload] = replies[2 * i + 1] ?? [];
      const err = ttlErr ?? dumpErr;
      if (err) throw new RepriseError('REPRISE_SOURCE_UNREADABLE', `Redis refused to dump a key: ${err.message}`, { cause: err });
      // Gone since SCAN (deleted or expired): not part of the copy.
      if (payload === null || pttl === -2) continue;
      records.push({ key: fresh[i] as Buffer, pttl: Number(pttl), payload: payload as Buffer });
    }
    stats.keys += records.length;
    if (records.length > 0) yield encodeRecords(records);
  } while (cursor !== '0');
  yield encodeTrailer(stats.keys);
}
