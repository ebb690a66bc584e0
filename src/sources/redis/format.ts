import { RepriseError } from '../../core/errors.js';

/**
 * The dump stream of one Redis database ("reprise redis records", v1):
 *   magic "RPRREDS1" (8 bytes)
 *   record*: 0x01, u32 key length, key, i64 pttl (ms left at dump time; -1 = no expiry),
 *            u32 payload length, DUMP payload
 *   trailer: 0xFF, u64 record count
 * All integers big-endian. The trailer makes a truncated stream detectable.
 */
export const MAGIC = Buffer.from('RPRREDS1', 'latin1');
const TAG_RECORD = 0x01;
const TAG_END = 0xff;

export interface RedisRecord {
  key: Buffer;
  /** Milliseconds left to live at dump time; -1 when the key does not expire. */
  pttl: number;
  /** The `DUMP` serialisation (RDB value + version + CRC64). */
  payload: Buffer;
}

/** Encodes records into one buffer. Never throws. */
export function encodeRecords(records: readonly RedisRecord[]): Buffer {
  let size = 0;
  for (const r of records) size += 1 + 4 + r.key.length + 8 + 4 + r.payload.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const r of records) {
    out[at] = TAG_RECORD;
    out.writeUInt32BE(r.key.length, at + 1);
    at += 5;
    at += r.key.copy(out, at);
    out.writeBigInt64BE(BigInt(r.pttl), at);
    out.writeUInt32BE(r.payload.length, at + 8);
    at += 12;
    at += r.payload.copy(out, at);
  }
  return out;
}

/** The trailer closing a stream of `count` records. Never throws. */
export function encodeTrailer(count: number): Buffer {
  const out = Buffer.alloc(9);
  out[0] = TAG_END;
  out.writeBigUInt64BE(BigInt(count), 1);
  return out;
}

function damaged(what: string): RepriseError {
  return new RepriseError('REPRISE_INTEGRITY', `Redis dump stream is damaged: ${what}`, {
    hint: 'Run `reprise check --read-data`, or restore an older snapshot.',
  });
}

/**
 * Decodes a record stream into batches of at most `batchSize` records (or about `batchBytes`
 * bytes, whichever comes first), holding at most one
 * batch and one partial record in memory. Throws REPRISE_INTEGRITY on a bad magic, a bad tag, a
 * truncated stream or a count mismatch. Not idempotent (consumes the input).
 */
export async function* decodeRecords(input: AsyncIterable<Uint8Array>, batchSize = 1000, batchBytes = 16 * 2 ** 20): AsyncGenerator<RedisRecord[]> {
  let buf = Buffer.alloc(0);
  let batch: RedisRecord[] = [];
  let bytesInBatch = 0;
  let count = 0;
  let sawMagic = false;
  let ended = false;
  // Bytes needed before parsing can progress: a large value arriving in many chunks is joined
  // once, not once per chunk.
  let need = 1;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for await (const chunk of input) {
    if (ended) throw damaged('data after the trailer');
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (buf.length + pendingBytes < need) continue;
    buf = Buffer.concat([buf, ...pending]);
    pending = [];
    pendingBytes = 0;
    let at = 0;
    if (!sawMagic) {
      if (buf.length < MAGIC.length) {
        need = MAGIC.length;
        continue;
      }
      if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw damaged('not a reprise Redis dump (bad magic)');
      sawMagic = true;
      at = MAGIC.length;
    }
    need = 1;
    for (;;) {
      if (buf.length - at < 1) break;
      const tag = buf[at];
      if (tag === TAG_END) {
        if (buf.length - at < 9) {
          need = 9;
          break;
        }
        const expected = Number(buf.readBigUInt64BE(at + 1));
        if (expected !== count) throw damaged(`trailer says ${expected} keys, stream holds ${count}`);
        ended = true;
        at += 9;
        if (at !== buf.length) throw damaged('data after the trailer');
        break;
      }
      if (tag !== TAG_RECORD) throw damaged(`unknown record tag ${String(tag)}`);
      if (buf.length - at < 5) {
        need = 5;
        break;
      }
      const keyLen = buf.readUInt32BE(at + 1);
      const payloadLenAt = at + 5 + keyLen + 8;
      if (buf.length < payloadLenAt + 4) {
        need = payloadLenAt + 4 - at;
        break;
      }
      const payloadLen = buf.readUInt32BE(payloadLenAt);
      const end = payloadLenAt + 4 + payloadLen;
      if (buf.length < end) {
        need = end - at;
        break;
      }
      batch.push({
        // Copies: the records outlive this buffer's window.
        key: Buffer.from(buf.subarray(at + 5, at + 5 + keyLen)),
        pttl: Number(buf.readBigInt64BE(at + 5 + keyLen)),
        payload: Buffer.from(buf.subarray(payloadLenAt + 4, end)),
      });
      count += 1;
      bytesInBatch += end - at;
      at = end;
      // Bounded by bytes too: a thousand large values would make one huge RESTORE script call.
      if (batch.length >= batchSize || bytesInBatch >= batchBytes) {
        yield batch;
        batch = [];
        bytesInBatch = 0;
      }
    }
    buf = buf.subarray(at);
  }
  if (pendingBytes > 0) buf = Buffer.concat([buf, ...pending]);
  if (!ended && sawMagic && buf.length > 0) throw damaged('truncated (partial record)');
  if (!sawMagic) throw damaged('empty or too short');
  if (!ended) throw damaged('truncated (no trailer)');
  if (batch.length > 0) yield batch;
}
