import type { Redis } from 'ioredis';
import { RepriseError } from '../../core/errors.js';
import type { ByteStream } from '../source.js';
import { decodeRecords } from './format.js';

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
  for await (const batch of decodeRecords(content as AsyncIterable<Uint8Array>)) {
    signal.throwIfAborted();
    const pipeline = client.pipeline();
    for (const r of batch) pipeline.restore(r.key, ttlFor(r.pttl), r.payload, 'REPLACE');
    const replies = (await pipeline.exec()) ?? [];
    for (let i = 0; i < replies.length; i++) {
      const err = replies[i]?.[0];
      if (err) {
        throw new RepriseError('REPRISE_TARGET_UNREACHABLE', `Redis refused to restore a key: ${err.message}`, {
          hint: /payload version/i.test(err.message)
            ? 'Either the target Redis is older than the one the snapshot was taken from (restore into the same or a newer version), or the snapshot data is damaged (`reprise check --read-data`).'
            : 'Check that the target accepts writes (not a replica, maxmemory, ACL allows RESTORE).',
          cause: err,
        });
      }
    }
    keys += batch.length;
  }
  return { keys };
}
