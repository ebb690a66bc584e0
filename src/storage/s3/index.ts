import { randomBytes } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { StorageError, type Backend, type ByteRange, type ObjectInfo, type PutOptions } from '../backend.js';
import { checkRange, rangeBeyondEnd } from '../range.js';
import { fromS3Error, isNotImplemented, kindOfS3Error } from './errors.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface S3BackendOptions {
  bucket: string;
  /** Folder inside the bucket; a trailing `/` is added when missing. Default: the bucket root. */
  prefix?: string | undefined;
  /** For MinIO, R2, Garage…: e.g. `https://<account>.r2.cloudflarestorage.com`. Default: AWS. */
  endpoint?: string | undefined;
  /** Default: AWS_REGION, then AWS_DEFAULT_REGION, then `us-east-1`. */
  region?: string | undefined;
  /** Path-style URLs (`endpoint/bucket/key`). Default: true when an endpoint is given. */
  pathStyle?: boolean | undefined;
  /** Default: the standard AWS chain (environment, shared files, instance role). */
  credentials?: S3Credentials | undefined;
  /** Most sockets kept open to the server (default 16). */
  maxSockets?: number | undefined;
  /**
   * Whether the server honours `If-None-Match: *` on PUT (AWS since 2024, MinIO, R2). Default:
   * probed once on the first createOnly put and remembered.
   */
  conditionalWrites?: boolean | undefined;
}

/**
 * A repository in an S3-compatible bucket. Objects are written with one PUT, which S3 makes
 * atomic; createOnly uses `If-None-Match: *` where the server honours it, otherwise a HEAD
 * then PUT that is not safe against a concurrent writer (see `createOnlyMode`).
 */
export class S3Backend implements Backend {
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly agents: Array<HttpAgent | HttpsAgent>;
  private conditional: Promise<boolean> | undefined;

  /** Never throws; bad credentials or a missing bucket show on the first call. */
  constructor(options: S3BackendOptions) {
    this.bucket = options.bucket;
    const raw = options.prefix ?? '';
    this.prefix = raw === '' || raw.endsWith('/') ? raw : `${raw}/`;
    this.location = `s3://${this.bucket}/${this.prefix}`;
    const maxSockets = options.maxSockets ?? 16;
    const httpAgent = new HttpAgent({ keepAlive: true, maxSockets });
    const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets });
    this.agents = [httpAgent, httpsAgent];
    this.client = new S3Client({
      region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.pathStyle ?? options.endpoint !== undefined,
      ...(options.credentials ? { credentials: sdkCredentials(options.credentials) } : {}),
      // withRetry() retries transient failures with our policy; SDK retries on top would multiply attempts.
      maxAttempts: 1,
      // The CRC headers the SDK adds by default are refused by several S3-compatible servers; the
      // repository authenticates every chunk itself.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { httpAgent, httpsAgent, connectionTimeout: 10_000, requestTimeout: 120_000 },
    });
    if (options.conditionalWrites !== undefined) this.conditional = Promise.resolve(options.conditionalWrites);
  }

  /**
   * Stores `body` with one PUT (atomic on S3). createOnly: `If-None-Match: *` (atomic) or, on a
   * server that ignores or refuses it, HEAD then PUT (not atomic against a concurrent writer).
   * Idempotent for the same body without createOnly. Throws StorageError (`exists`, `permission`,
   * `transient`, `fatal`) or the signal's reason.
   */
  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    const { signal } = options;
    signal?.throwIfAborted();
    if (options.createOnly) {
      if (await this.supportsConditionalWrites(signal)) {
        try {
          await this.rawPut(this.prefix + key, body, true, signal);
          return;
        } catch (err) {
          if (!isNotImplemented(err)) throw fromS3Error(err, 'put', key, signal);
          this.conditional = Promise.resolve(false);
        }
      }
      if (await this.stat(key, signal)) throw new StorageError('exists', `object already exists: ${key}`, { key });
    }
    try {
      await this.rawPut(this.prefix + key, body, false, signal);
    } catch (err) {
      throw fromS3Error(err, 'put', key, signal);
    }
  }

  /** `atomic` when createOnly uses If-None-Match, `emulated` for HEAD then PUT, `unknown` before the first createOnly put. */
  async createOnlyMode(): Promise<'atomic' | 'emulated' | 'unknown'> {
    if (!this.conditional) return 'unknown';
    return (await this.conditional) ? 'atomic' : 'emulated';
  }

  /**
   * Reads the object or a range of it (HTTP Range). Idempotent. Throws StorageError `not_found`,
   * `fatal` for a range past the end, `transient`/`permission`, or the signal's reason.
   */
  async get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    if (range) {
      checkRange(range, key);
      // An HTTP range cannot be empty: check existence and bounds instead.
      if (range.length === 0) {
        const info = await this.stat(key, signal);
        if (!info) throw new StorageError('not_found', `no such object: ${key}`, { key });
        if (range.offset > info.size) throw rangeBeyondEnd(range, key, info.size);
        return new Uint8Array(0);
      }
    }
    let bytes: Uint8Array;
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          ...(range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}),
        }),
        sendOptions(signal),
      );
      bytes = res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
    } catch (err) {
      if ((err as { name?: string }).name === 'InvalidRange' && range) {
        throw new StorageError('fatal', `range ${range.offset}+${range.length} beyond end of ${key}`, { key, cause: err });
      }
      throw fromS3Error(err, 'get', key, signal);
    }
    signal?.throwIfAborted();
    // S3 silently shortens a range that runs past the end.
    if (range && bytes.length !== range.length) throw rangeBeyondEnd(range, key, range.offset + bytes.length);
    return bytes;
  }

  /** HEAD: the size, or undefined when absent. Idempotent. Throws StorageError or the signal's reason. */
  async stat(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    signal?.throwIfAborted();
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), sendOptions(signal));
      return { key, size: res.ContentLength ?? 0 };
    } catch (err) {
      if (!signal?.aborted && kindOfS3Error(err) === 'not_found') return undefined;
      throw fromS3Error(err, 'stat', key, signal);
    }
  }

  /** ListObjectsV2, page by page (1000 keys each). Idempotent. Throws StorageError or the signal's reason. */
  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      signal?.throwIfAborted();
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
          sendOptions(signal),
        );
      } catch (err) {
        throw fromS3Error(err, 'list', prefix || '/', signal);
      }
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined) continue;
        yield { key: item.Key.slice(this.prefix.length), size: item.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** DELETE; a missing key is fine (idempotent). Throws StorageError or the signal's reason. */
  async delete(key: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), sendOptions(signal));
    } catch (err) {
      if (!signal?.aborted && kindOfS3Error(err) === 'not_found') return;
      throw fromS3Error(err, 'delete', key, signal);
    }
  }

  /** Closes the client and its keep-alive sockets. Idempotent, never throws. */
  async close(): Promise<void> {
    this.client.destroy();
    for (const agent of this.agents) agent.destroy();
  }

  private async rawPut(fullKey: string, body: Uint8Array, ifNoneMatch: boolean, signal: AbortSignal | undefined): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: fullKey,
        Body: body,
        ContentLength: body.length,
        ...(ifNoneMatch ? { IfNoneMatch: '*' } : {}),
      }),
      sendOptions(signal),
    );
  }

  private supportsConditionalWrites(signal: AbortSignal | undefined): Promise<boolean> {
    if (!this.conditional) {
      const probe = this.probeConditionalWrites(signal);
      this.conditional = probe;
      // A failed probe (network, abort) is not an answer: probe again next time.
      probe.catch(() => {
        if (this.conditional === probe) this.conditional = undefined;
      });
    }
    return this.conditional;
  }

  /**
   * Some servers (older MinIO, s3rver, some gateways) accept the header and overwrite anyway, so
   * asking is not enough: write a probe object twice and see whether the second write is refused.
   */
  private async probeConditionalWrites(signal: AbortSignal | undefined): Promise<boolean> {
    const key = `${this.prefix}.reprise-probe-${randomBytes(8).toString('hex')}`;
    const empty = new Uint8Array(0);
    try {
      await this.rawPut(key, empty, false, signal);
      try {
        await this.rawPut(key, empty, true, signal);
        return false;
      } catch (err) {
        if (kindOfS3Error(err) === 'exists') return true;
        if (isNotImplemented(err) || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 400) return false;
        throw err;
      }
    } catch (err) {
      throw fromS3Error(err, 'put', key, signal);
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => undefined);
    }
  }
}

function sendOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}

function sdkCredentials(c: S3Credentials): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } {
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken !== undefined ? { sessionToken: c.sessionToken } : {}) };
}
