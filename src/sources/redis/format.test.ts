import { describe, expect, it } from 'vitest';
import { isRepriseError } from '../../core/errors.js';
import { decodeRecords, encodeRecords, encodeTrailer, MAGIC, type RedisRecord } from './format.js';

async function decodeAll(bytes: Buffer, chunk: number): Promise<RedisRecord[]> {
  const input = (async function* () {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  })();
  const out: RedisRecord[] = [];
  for await (const batch of decodeRecords(input, 3)) out.push(...batch);
  return out;
}

const records: RedisRecord[] = Array.from({ length: 10 }, (_, i) => ({
  key: Buffer.from([0, 255, i, 10, 13]),
  pttl: i % 2 === 0 ? -1 : i * 1000,
  payload: Buffer.alloc(i * 37, i),
}));
const stream = Buffer.concat([MAGIC, encodeRecords(records.slice(0, 4)), encodeRecords(records.slice(4)), encodeTrailer(10)]);

describe('redis record format', () => {
  it('round-trips binary keys, ttls and payloads whatever the chunking', async () => {
    for (const chunk of [1, 7, 64, stream.length]) expect(await decodeAll(stream, chunk)).toEqual(records);
  });

  it('cuts batches by size as well as by count', async () => {
    const big: RedisRecord[] = Array.from({ length: 5 }, (_, i) => ({ key: Buffer.from(`k${i}`), pttl: -1, payload: Buffer.alloc(1000, i) }));
    const bytes = Buffer.concat([MAGIC, encodeRecords(big), encodeTrailer(5)]);
    const sizes: number[] = [];
    const input = (async function* () {
      yield bytes;
    })();
    for await (const batch of decodeRecords(input, 100, 2500)) sizes.push(batch.length);
    expect(sizes).toEqual([3, 2]);
  });

  it('detects truncation, a wrong count, trailing data and a bad magic', async () => {
    const cases = [
      stream.subarray(0, stream.length - 1),
      stream.subarray(0, stream.length - 9),
      Buffer.concat([MAGIC, encodeRecords(records), encodeTrailer(9)]),
      Buffer.concat([stream, Buffer.from([1])]),
      Buffer.concat([Buffer.from('XXXXXXXX'), stream.subarray(8)]),
      Buffer.alloc(0),
    ];
    for (const bad of cases) {
      const err = await decodeAll(bad, 5).catch((e: unknown) => e);
      expect(isRepriseError(err, 'REPRISE_INTEGRITY'), String(err)).toBe(true);
    }
  });
});
