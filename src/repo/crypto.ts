import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, scrypt } from 'node:crypto';
import { RepriseError } from '../core/errors.js';
import { NONCE_SIZE, SEAL_OVERHEAD, TAG_SIZE } from './format.js';

/** The secrets of a repository, wrapped by each key file. */
export interface MasterKeys {
  /** AES-256-GCM key for every stored object. */
  encKey: Buffer;
  /** HMAC-SHA-256 key for chunk ids. */
  macKey: Buffer;
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** Fresh random master keys. Never throws. */
export function newMasterKeys(): MasterKeys {
  return { encKey: randomBytes(32), macKey: randomBytes(32) };
}

/** `bytes` random bytes as hex (ids of locks, keys, repositories). Never throws. */
export function randomHex(bytes = 32): string {
  return randomBytes(bytes).toString('hex');
}

/** SHA-256 of `data` as hex. Never throws; pure. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Chunk id: HMAC-SHA-256 of the plaintext under the MAC key, hex. Never throws; pure. */
export function chunkId(macKey: Uint8Array, data: Uint8Array): string {
  return createHmac('sha256', macKey).update(data).digest('hex');
}

/**
 * AES-256-GCM with a fresh random nonce: nonce(12) ‖ ciphertext ‖ tag(16). Never throws.
 * Not idempotent (fresh nonce each call).
 */
export function seal(key: Uint8Array, plaintext: Uint8Array): Buffer {
  const nonce = randomBytes(NONCE_SIZE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const body = cipher.update(plaintext);
  const rest = cipher.final();
  return Buffer.concat([nonce, body, rest, cipher.getAuthTag()]);
}

/**
 * Reverses `seal`. Throws REPRISE_INTEGRITY (naming `what`) when the object is truncated or
 * its tag does not verify (wrong key or damaged bytes). Pure.
 */
export function unseal(key: Uint8Array, sealed: Uint8Array, what: string): Buffer {
  if (sealed.length < SEAL_OVERHEAD) {
    throw new RepriseError('REPRISE_INTEGRITY', `${what}: truncated (${sealed.length} bytes)`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_SIZE));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
    const body = decipher.update(sealed.subarray(NONCE_SIZE, sealed.length - TAG_SIZE));
    const rest = decipher.final();
    return rest.length === 0 ? body : Buffer.concat([body, rest]);
  } catch (cause) {
    throw new RepriseError('REPRISE_INTEGRITY', `${what}: authentication failed (damaged or wrong key)`, { cause });
  }
}

/** Seals a JSON value. Never throws for JSON-serialisable input. */
export function sealJson(key: Uint8Array, value: unknown): Buffer {
  return seal(key, Buffer.from(JSON.stringify(value), 'utf8'));
}

/** Unseals and parses a JSON object; throws REPRISE_INTEGRITY on damage. Pure. */
export function unsealJson<T>(key: Uint8Array, sealed: Uint8Array, what: string): T {
  const plain = unseal(key, sealed, what);
  try {
    return JSON.parse(plain.toString('utf8')) as T;
  } catch (cause) {
    throw new RepriseError('REPRISE_INTEGRITY', `${what}: not valid JSON after decryption`, { cause });
  }
}

/** scrypt key derivation (32 bytes). Throws REPRISE_INTERNAL on invalid parameters. Pure. */
export async function deriveKey(password: string, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFC'),
      salt,
      32,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + (1 << 20) },
      (err, key) => (err ? reject(new RepriseError('REPRISE_INTERNAL', `scrypt failed: ${err.message}`, { cause: err })) : resolve(key)),
    );
  });
}
