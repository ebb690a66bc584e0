import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RepriseError, toRepriseError } from '../core/errors.js';
import { StorageError, type Backend } from './backend.js';
import { withConcurrency } from './limit.js';
import { LocalBackend } from './local/index.js';
import { MemoryBackend } from './memory/index.js';
import { withRetry } from './retry.js';
import { LazyBackend } from './lazy.js';

/** The storage part of `repository:` and of each `copies:` entry (other fields are ignored). */
export interface StorageLocation {
  url: string;
  endpoint?: string | undefined;
  region?: string | undefined;
  path_style?: boolean | undefined;
  access_key_id?: string | undefined;
  secret_access_key?: string | undefined;
  session_token?: string | undefined;
  /** Parallel requests to S3 (default 8). */
  connections?: number | undefined;
}

const SUPPORTED = 'a local path, file:///absolute/path, s3://bucket/prefix or memory://name';

/** Named memory stores live as long as the process, so opening `memory://x` twice sees the same objects. */
const memoryStores = new Map<string, MemoryBackend>();

/**
 * Opens the backend a location names: a path (relative to `baseDir`, `~/` for the home folder) or
 * `file://` → LocalBackend; `s3://bucket/prefix` → S3Backend (plus a concurrency limit);
 * `memory://name` → a MemoryBackend shared by name within the process. Every backend is wrapped
 * in withRetry. Does no I/O. Throws RepriseError REPRISE_CONFIG_INVALID for an unknown scheme or
 * incomplete S3 settings. Idempotent (each call returns a new wrapper).
 */
export function openBackend(location: StorageLocation, baseDir: string): Backend {
  const { url } = location;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return withRetry(new LocalBackend(localPath(url, baseDir)));
  switch (scheme) {
    case 'file':
      return withRetry(new LocalBackend(fileUrlPath(url)));
    case 'memory': {
      const name = url.slice('memory://'.length) || 'default';
      let store = memoryStores.get(name);
      if (!store) memoryStores.set(name, (store = new MemoryBackend(name)));
      return withRetry(store);
    }
    case 's3':
      return openS3(location);
    default:
      throw new RepriseError('REPRISE_CONFIG_INVALID', `unsupported storage url "${url}": unknown scheme ${scheme}://`, {
        hint: `Use ${SUPPORTED}. S3-compatible services (MinIO, R2, Garage) use s3:// with \`endpoint:\`.`,
      });
  }
}

function localPath(url: string, baseDir: string): string {
  if (url === '~' || url.startsWith('~/')) return resolve(homedir(), url.slice(2));
  return isAbsolute(url) ? url : resolve(baseDir, url);
}

function fileUrlPath(url: string): string {
  try {
    return fileURLToPath(url);
  } catch (err) {
    throw new RepriseError('REPRISE_CONFIG_INVALID', `invalid file url "${url}": ${(err as Error).message}`, {
      hint: 'Write file:///absolute/path (three slashes), or a plain path.',
      cause: err,
    });
  }
}

function openS3(location: StorageLocation): Backend {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(location.url);
  const bucket = match?.[1];
  if (!match || !bucket) {
    throw new RepriseError('REPRISE_CONFIG_INVALID', `invalid S3 url "${location.url}": no bucket`, {
      hint: 'Write s3://bucket or s3://bucket/prefix.',
    });
  }
  const { access_key_id: accessKeyId, secret_access_key: secretAccessKey, session_token: sessionToken } = location;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new RepriseError('REPRISE_CONFIG_INVALID', `S3 location ${location.url}: access_key_id and secret_access_key go together`, {
      hint: 'Set both, or neither to use the standard AWS credential chain (AWS_ACCESS_KEY_ID, ~/.aws, instance role).',
    });
  }
  const connections = location.connections ?? 8;
  const prefix = match[2] ?? '';
  // The same location text S3Backend shows, before the SDK is loaded.
  return new LazyBackend(`s3://${bucket}/${prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`}`, async () => {
    const { S3Backend } = await import('./s3/index.js');
    const backend = new S3Backend({
    bucket,
      prefix,
      endpoint: location.endpoint,
      region: location.region,
      pathStyle: location.path_style,
      credentials: accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey, sessionToken } : undefined,
      // A few spare sockets so HEADs of the retry path do not queue behind uploads.
      maxSockets: connections + 4,
    });
    return withRetry(withConcurrency(backend, connections));
  });
}

/**
 * Turns a storage failure into the RepriseError the CLI reports: not_found →
 * REPRISE_STORAGE_NOT_FOUND, permission → REPRISE_STORAGE_PERMISSION, other kinds →
 * REPRISE_STORAGE, keeping the key in the message; aborts → REPRISE_ABORTED; anything else via
 * toRepriseError. Never throws. Idempotent (a RepriseError comes back unchanged).
 */
export function toRepriseStorageError(err: unknown): RepriseError {
  if (!(err instanceof StorageError)) return toRepriseError(err);
  const code =
    err.kind === 'not_found' ? 'REPRISE_STORAGE_NOT_FOUND' : err.kind === 'permission' ? 'REPRISE_STORAGE_PERMISSION' : 'REPRISE_STORAGE';
  const message = err.key !== undefined && !err.message.includes(err.key) ? `${err.message} (key ${err.key})` : err.message;
  return new RepriseError(code, message, {
    cause: err,
    details: { kind: err.kind, ...(err.key !== undefined ? { key: err.key } : {}) },
  });
}
