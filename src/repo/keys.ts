import { hostname as osHostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { RepriseError } from '../core/errors.js';
import type { Backend } from '../storage/backend.js';
import type { KeyInfo } from './api.js';
import { deriveKey, seal, sha256Hex, unseal, type MasterKeys, type ScryptParams } from './crypto.js';
import { listAll, storageFailure } from './context.js';
import { PREFIX_KEYS, SCRYPT_DEFAULT } from './format.js';

/** `keys/<id>` plaintext JSON (the file itself is not encrypted; `data` is). */
interface KeyFile {
  v: 1;
  created: string;
  host: string;
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  /** base64 */
  salt: string;
  /** base64 of AES-256-GCM(password-derived key, JSON {encKey, macKey} base64). */
  data: string;
}

/**
 * Writes a new key file wrapping `master` under `password`; returns its info. Throws
 * REPRISE_STORAGE*. Not idempotent: each call adds a key.
 */
export async function addKeyFile(
  backend: Backend,
  master: MasterKeys,
  password: string,
  options: { host?: string; now: () => number; scrypt?: ScryptParams },
): Promise<KeyInfo> {
  const params = options.scrypt ?? SCRYPT_DEFAULT;
  const salt = randomBytes(32);
  const wrapping = await deriveKey(password, salt, params);
  const secret = Buffer.from(JSON.stringify({ encKey: master.encKey.toString('base64'), macKey: master.macKey.toString('base64') }));
  const file: KeyFile = {
    v: 1,
    created: new Date(options.now()).toISOString(),
    host: options.host ?? osHostname(),
    kdf: 'scrypt',
    N: params.N,
    r: params.r,
    p: params.p,
    salt: salt.toString('base64'),
    data: seal(wrapping, secret).toString('base64'),
  };
  const bytes = Buffer.from(JSON.stringify(file, null, 2));
  const id = sha256Hex(bytes);
  try {
    await backend.put(`${PREFIX_KEYS}${id}`, bytes, { createOnly: true });
  } catch (err) {
    throw storageFailure(err, `write key ${id}`);
  }
  return { id, created: file.created, host: file.host, current: false };
}

async function readKeyFile(backend: Backend, key: string): Promise<KeyFile> {
  let bytes: Uint8Array;
  try {
    bytes = await backend.get(key);
  } catch (err) {
    throw storageFailure(err, `read ${key}`);
  }
  try {
    const file = JSON.parse(Buffer.from(bytes).toString('utf8')) as KeyFile;
    if (file.v !== 1 || file.kdf !== 'scrypt') throw new Error('unknown key format');
    return file;
  } catch (cause) {
    throw new RepriseError('REPRISE_INTEGRITY', `${key}: not a key file of format 1`, { cause });
  }
}

/**
 * Tries `password` on every key file. Throws REPRISE_WRONG_PASSWORD when none opens,
 * REPRISE_REPO_NOT_FOUND when there is no key at all. Idempotent.
 */
export async function openWithPassword(backend: Backend, password: string): Promise<{ keyId: string; master: MasterKeys }> {
  const keys = [...(await listAll(backend, PREFIX_KEYS)).keys()];
  if (keys.length === 0) throw new RepriseError('REPRISE_REPO_NOT_FOUND', `no key files in ${backend.location}`);
  for (const key of keys) {
    const file = await readKeyFile(backend, key);
    const wrapping = await deriveKey(password, Buffer.from(file.salt, 'base64'), file);
    let secret: Buffer;
    try {
      secret = unseal(wrapping, Buffer.from(file.data, 'base64'), key);
    } catch {
      continue;
    }
    const parsed = JSON.parse(secret.toString('utf8')) as { encKey: string; macKey: string };
    return { keyId: key.slice(PREFIX_KEYS.length), master: { encKey: Buffer.from(parsed.encKey, 'base64'), macKey: Buffer.from(parsed.macKey, 'base64') } };
  }
  throw new RepriseError('REPRISE_WRONG_PASSWORD', `no key of ${backend.location} opens with the given password`);
}

/** Every key, oldest first; `current` marks `currentId`. Throws REPRISE_STORAGE*, REPRISE_INTEGRITY. */
export async function listKeyFiles(backend: Backend, currentId: string): Promise<KeyInfo[]> {
  const keys = [...(await listAll(backend, PREFIX_KEYS)).keys()];
  const infos: KeyInfo[] = [];
  for (const key of keys) {
    const file = await readKeyFile(backend, key);
    const id = key.slice(PREFIX_KEYS.length);
    infos.push({ id, created: file.created, host: file.host, current: id === currentId });
  }
  return infos.sort((a, b) => a.created.localeCompare(b.created));
}

/**
 * Removes a key by id or unique prefix. Throws REPRISE_KEY_NOT_FOUND, REPRISE_KEY_LAST (only
 * key), REPRISE_STORAGE*. Not idempotent (a second call finds no key).
 */
export async function removeKeyFile(backend: Backend, idOrPrefix: string): Promise<void> {
  const ids = [...(await listAll(backend, PREFIX_KEYS)).keys()].map((k) => k.slice(PREFIX_KEYS.length));
  const matches = ids.filter((id) => id.startsWith(idOrPrefix));
  if (matches.length !== 1 || idOrPrefix === '') throw new RepriseError('REPRISE_KEY_NOT_FOUND', `no single key matches ${idOrPrefix}`);
  if (ids.length === 1) throw new RepriseError('REPRISE_KEY_LAST', `key ${matches[0]} is the only key of the repository`);
  try {
    await backend.delete(`${PREFIX_KEYS}${matches[0]}`);
  } catch (err) {
    throw storageFailure(err, `delete key ${matches[0]}`);
  }
}
