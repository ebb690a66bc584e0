import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RepriseError } from '../../core/errors.js';
import { BATCH } from './dump.js';
import { FINGERPRINT_SCRIPT, scriptsRefused } from './scripts.js';

/** What is compared of one key: its type, a hash of its value in a canonical form, its TTL. */
export interface KeyFingerprint {
  type: string;
  /** sha256 (hex) of the canonical value: equal values give equal hashes whatever the encoding. */
  value: string;
  /** Milliseconds left, -1 when the key does not expire. */
  pttl: number;
}

function lp(hash: ReturnType<typeof createHash>, part: unknown): void {
  // RESP3 replies nest pairs and give scores as numbers: flatten to one canonical byte form.
  if (Array.isArray(part)) {
    for (const item of part) lp(hash, item);
    return;
  }
  const bytes = Buffer.isBuffer(part) ? part : Buffer.from(String(part));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  hash.update(len).update(bytes);
}

function pairs(flat: unknown[]): Buffer[][] {
  const out: Buffer[][] = [];
  const buf = (x: unknown): Buffer => (Buffer.isBuffer(x) ? x : Buffer.from(String(x)));
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([buf(flat[i]), buf(flat[i + 1])]);
  return out;
}

function canonical(type: string, reply: unknown): string {
  const hash = createHash('sha256');
  lp(hash, type);
  const cmp = (a: Buffer, b: Buffer): number => Buffer.compare(a, b);
  switch (type) {
    case 'string':
      lp(hash, reply as Buffer);
      break;
    case 'list':
    // ZRANGE order (score, then member) is already canonical.
    case 'zset':
      for (const item of reply as Buffer[]) lp(hash, item);
      break;
    case 'set':
      for (const item of (reply as unknown[]).map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(String(x)))).sort(cmp)) lp(hash, item);
      break;
    case 'hash':
      for (const [f, v] of pairs(reply as unknown[]).sort((a, b) => cmp(a[0] as Buffer, b[0] as Buffer))) {
        lp(hash, f as Buffer);
        lp(hash, v as Buffer);
      }
      break;
    case 'stream':
      lp(hash, reply);
      break;
    default:
      // Module types: compare the serialisation itself.
      lp(hash, (reply as Buffer | null) ?? Buffer.alloc(0));
  }
  return hash.digest('hex');
}

/** How fingerprints were computed: values from different methods are not comparable. */
export type FingerprintMethod = 'lua-sha1' | 'client-sha256';

/**
 * Fingerprints every key of the selected database: one Lua script per SCAN batch hashing values
 * server-side, or (when scripts are refused) TYPE + PTTL and a type-specific read per key,
 * pipelined, hashed here. `method` forces one (both sides of a comparison must use the same).
 * Memory grows with the number of keys: meant for verification and drills. Throws the client's
 * errors. Idempotent (reads only).
 */
export async function fingerprintDb(
  client: Redis,
  signal: AbortSignal,
  method?: FingerprintMethod,
): Promise<{ method: FingerprintMethod; keys: Map<string, KeyFingerprint> }> {
  if (method !== 'client-sha256') {
    const viaScript = await fingerprintWithScript(client, signal);
    if (viaScript) return { method: 'lua-sha1', keys: viaScript };
    if (method === 'lua-sha1') {
      throw new RepriseError('REPRISE_UNSUPPORTED', 'this Redis refuses scripts: its keys cannot be fingerprinted like the other side', {
        hint: 'Compare with a user allowed to run EVAL on both sides, or on neither.',
      });
    }
  }
  return { method: 'client-sha256', keys: await fingerprintOnClient(client, signal) };
}

async function fingerprintWithScript(client: Redis, signal: AbortSignal): Promise<Map<string, KeyFingerprint> | undefined> {
  const out = new Map<string, KeyFingerprint>();
  let cursor = '0';
  do {
    signal.throwIfAborted();
    let reply: unknown[];
    try {
      reply = (await client.callBuffer('EVAL', FINGERPRINT_SCRIPT, '0', cursor, String(BATCH))) as unknown[];
    } catch (err) {
      if (scriptsRefused(err)) return undefined;
      throw err;
    }
    cursor = String(reply[0]);
    for (let i = 1; i + 3 < reply.length; i += 4) {
      out.set((reply[i] as Buffer).toString('latin1'), { type: String(reply[i + 1]), pttl: Number(reply[i + 2]), value: String(reply[i + 3]) });
    }
  } while (cursor !== '0');
  return out;
}

async function fingerprintOnClient(client: Redis, signal: AbortSignal): Promise<Map<string, KeyFingerprint>> {
  const out = new Map<string, KeyFingerprint>();
  let cursor = '0';
  do {
    signal.throwIfAborted();
    const [next, keys] = await client.scanBuffer(cursor, 'COUNT', BATCH);
    cursor = next.toString();
    if (keys.length === 0) continue;
    const meta = client.pipeline();
    for (const key of keys) meta.type(key).pttl(key);
    const metaReplies = (await meta.exec()) ?? [];
    const reads = client.pipeline();
    const types: string[] = [];
    keys.forEach((key, i) => {
      const type = String(metaReplies[2 * i]?.[1] ?? 'none');
      types.push(type);
      if (type === 'string') reads.getBuffer(key);
      else if (type === 'list') reads.lrangeBuffer(key, 0, -1);
      else if (type === 'set') reads.smembersBuffer(key);
      else if (type === 'hash') reads.hgetallBuffer(key);
      else if (type === 'zset') reads.callBuffer('ZRANGE', key, '0', '-1', 'WITHSCORES');
      else if (type === 'stream') reads.xrangeBuffer(key, '-', '+');
      else reads.dumpBuffer(key);
    });
    const values = (await reads.exec()) ?? [];
    keys.forEach((key, i) => {
      const type = types[i] as string;
      if (type === 'none') return; // expired or deleted meanwhile
      let reply = values[i]?.[1];
      // ioredis turns HGETALL into an object; hgetallBuffer into { field: Buffer }.
      if (type === 'hash' && reply instanceof Map) {
        reply = [...(reply as Map<unknown, unknown>).entries()].flat();
      } else if (type === 'hash' && reply && !Array.isArray(reply)) {
        reply = Object.entries(reply as Record<string, Buffer>).flatMap(([f, v]) => [Buffer.from(f), v]);
      }
      if (type === 'zset' && Array.isArray(reply)) reply = (reply as unknown[]).flat();
      out.set(key.toString('latin1'), { type, value: canonical(type, reply), pttl: Number(metaReplies[2 * i + 1]?.[1] ?? -1) });
    });
  } while (cursor !== '0');
  return out;
}

/** One digest of a whole database's keys, types and values (TTLs left out: they move). Never throws. */
export function digestOf(fingerprints: Map<string, KeyFingerprint>): string {
  const hash = createHash('sha256');
  for (const key of [...fingerprints.keys()].sort()) {
    const fp = fingerprints.get(key) as KeyFingerprint;
    lp(hash, Buffer.from(key, 'latin1'));
    lp(hash, fp.value);
  }
  return hash.digest('hex');
}

/**
 * Redis's own per-key digest (`DEBUG DIGEST-VALUE`) folded over the database, or undefined
 * when DEBUG is not allowed (the default since Redis 7: `enable-debug-command`). Throws other
 * client errors. Idempotent.
 */
export async function debugDigest(client: Redis, keys: Iterable<string>, signal: AbortSignal): Promise<string | undefined> {
  try {
    await client.call('DEBUG', 'DIGEST-VALUE', '__reprise_probe__');
  } catch (err) {
    if (/DEBUG command not allowed|unknown subcommand|NOPERM/i.test((err as Error).message)) return undefined;
    throw err;
  }
  const sorted = [...keys].sort();
  const hash = createHash('sha256');
  for (let i = 0; i < sorted.length; i += BATCH) {
    signal.throwIfAborted();
    const slice = sorted.slice(i, i + BATCH);
    const p = client.pipeline();
    for (const key of slice) p.call('DEBUG', 'DIGEST-VALUE', Buffer.from(key, 'latin1'));
    const replies = (await p.exec()) ?? [];
    slice.forEach((key, j) => {
      lp(hash, Buffer.from(key, 'latin1'));
      lp(hash, String(replies[j]?.[1] ?? ''));
    });
  }
  return hash.digest('hex');
}

/**
 * Compares two databases key by key: same keys, types, values, and TTLs within `ttlToleranceMs`
 * (both without expiry, or both expiring). Returns the problems (empty when equal), at most `limit`.
 * Throws the clients' errors. Idempotent (reads only).
 */
export async function compareRedisDbs(a: Redis, b: Redis, signal: AbortSignal, ttlToleranceMs = 5000, limit = 20): Promise<string[]> {
  const first = await fingerprintDb(a, signal);
  const left = first.keys;
  const right = (await fingerprintDb(b, signal, first.method)).keys;
  const problems: string[] = [];
  const show = (k: string): string => JSON.stringify(Buffer.from(k, 'latin1').toString());
  for (const [key, fa] of left) {
    if (problems.length >= limit) break;
    const fb = right.get(key);
    if (!fb) problems.push(`key ${show(key)} missing`);
    else if (fa.type !== fb.type) problems.push(`key ${show(key)}: type ${fa.type} vs ${fb.type}`);
    else if (fa.value !== fb.value) problems.push(`key ${show(key)}: value differs`);
    else if ((fa.pttl < 0) !== (fb.pttl < 0) || Math.abs(fa.pttl - fb.pttl) > ttlToleranceMs) problems.push(`key ${show(key)}: ttl ${fa.pttl} vs ${fb.pttl} ms`);
  }
  for (const key of right.keys()) {
    if (problems.length >= limit) break;
    if (!left.has(key)) problems.push(`key ${show(key)} is extra`);
  }
  return problems;
}
