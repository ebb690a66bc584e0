import type { Redis } from 'ioredis';
import { RepriseError } from '../../core/errors.js';
import type { ByteStream } from '../source.js';
import { decodeRecords, type RedisRecord } from './format.js';
import { RESTORE_SCRIPT, scriptsRefused } from './scripts.js';

/** RESTORE takes 0 for "no expiry": a key with 0 ms left at dump time must still expire. */
function ttlFor(pttl: number): number {
  return pttl < 0 ? 0 : Math.max(1, pttl);
}

/**
 * Loads a record stream into the selected database with pipelined `RESTORE key ttl payload
 * REPLACE`, one batch at a time (memory holds one batch). A key's remaining TTL at dump time is
 * given back as its TTL from now. Throws REPRISE_INTEGRITY for a damaged stream,
 * REPRISE_TARGET_UNREACHABLE when Redis rejects a key (e.g. a payload from a newer Redis),
 * REPRISE_ABORTED. Not idempotent.
 */
export async function loadRedisDb(client: Redis, content: ByteStream, signal: AbortSignal): Promise<{ keys: number }> {
  let keys = 0;
  let useScript = true;
  for await (const batch of decodeRecords(content as AsyncIterable<Uint8Array>)) {
    signal.throwIfAborted();
    if (useScript) {
      try {
        await client.call('EVAL', RESTORE_SCRIPT, '0', ...batch.flatMap((r) => [r.key, String(ttlFor(r.pttl)), r.payload]));
        keys += batch.length;
        continue;
      } catch (err) {
        if (!scriptsRefused(err)) throw refused(err);
        useScript = false;
      }
    }
    await restorePipelined(client, batch);
    keys += batch.length;
  }
  return { keys };
}

function refused(err: unknown): RepriseError {
  const message = err instanceof Error ? err.message : String(err);
  return new RepriseError('REPRISE_TARGET_UNREACHABLE', `Redis refused to restore a key: ${message}`, {
    hint: /payload version|checksum/i.test(message)
      ? 'Either the target Redis is older than the one the snapshot was taken from (restore into the same or a newer version), or the snapshot data is damaged (`reprise check --read-data`).'
      : 'Check that the target accepts writes (not a replica, maxmemory, ACL allows RESTORE).',
    cause: err,
  });
}

async function restorePipelined(client: Redis, batch: RedisRecord[]): Promise<void> {
  const pipeline = client.pipeline();
  for (const r of batch) pipeline.restore(r.key, ttlFor(r.pttl), r.payload, 'REPLACE');
  const replies = (await pipeline.exec()) ?? [];
  for (const reply of replies) if (reply?.[0]) throw refused(reply[0]);
}
