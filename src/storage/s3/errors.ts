import { StorageError, type StorageErrorKind } from '../backend.js';

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound']);
const PERMISSION = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden', 'AllAccessDisabled', 'InvalidToken', 'ExpiredToken']);
const EXISTS = new Set(['PreconditionFailed']);
const TRANSIENT = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeoutException',
  // AWS answers 409 to a conditional write racing another one on the same key; the retry then gets 412.
  'ConditionalRequestConflict',
  'OperationAborted',
]);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ESOCKETTIMEDOUT', 'UND_ERR_SOCKET']);

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The storage kind for an AWS SDK (or network) error. Never throws. */
export function kindOfS3Error(err: unknown): StorageErrorKind {
  const e = (err ?? {}) as SdkErrorShape;
  const name = e.name ?? '';
  const code = e.Code ?? e.code ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (name === 'NoSuchBucket' || code === 'NoSuchBucket') return 'fatal';
  if (NOT_FOUND.has(name) || NOT_FOUND.has(code) || status === 404) return 'not_found';
  if (PERMISSION.has(name) || PERMISSION.has(code) || status === 403 || status === 401) return 'permission';
  if (EXISTS.has(name) || EXISTS.has(code) || status === 412) return 'exists';
  if (TRANSIENT.has(name) || TRANSIENT.has(code) || NETWORK.has(code) || NETWORK.has(name)) return 'transient';
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return 'transient';
  // No HTTP answer at all (socket hang up, reset): the request may be retried.
  if (status === undefined && /socket hang up|ECONNRESET|EPIPE|timed? ?out/i.test(String((err as Error)?.message))) return 'transient';
  return 'fatal';
}

/** True when the server refused a request header or feature as not implemented. Never throws. */
export function isNotImplemented(err: unknown): boolean {
  const e = (err ?? {}) as SdkErrorShape;
  return e.name === 'NotImplemented' || e.Code === 'NotImplemented' || e.$metadata?.httpStatusCode === 501;
}

/**
 * Turns an SDK failure into a StorageError naming the operation and key; aborts come back as
 * the signal's reason (or the SDK's AbortError) so callers see a cancellation, not a failure.
 * Never throws.
 */
export function fromS3Error(err: unknown, op: string, key: string, signal?: AbortSignal): unknown {
  if (err instanceof StorageError) return err;
  if (signal?.aborted) return signal.reason;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const e = (err ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new StorageError(kindOfS3Error(err), `${op} ${key}: ${what}${status ? ` (HTTP ${status})` : ''}`, { key, cause: err });
}
