import { describe, expect, it } from 'vitest';
import { StorageError } from '../backend.js';
import { fromS3Error, isNotImplemented, kindOfS3Error } from './errors.js';

/** The shape the AWS SDK v3 gives its service errors. */
function sdkError(name: string, status?: number): Error {
  const err = new Error(`${name} happened`) as Error & { $metadata: { httpStatusCode?: number } };
  err.name = name;
  err.$metadata = status === undefined ? {} : { httpStatusCode: status };
  return err;
}

function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code });
}

describe('kindOfS3Error', () => {
  it.each([
    [sdkError('NoSuchKey', 404), 'not_found'],
    [sdkError('NotFound', 404), 'not_found'],
    [sdkError('UnknownError', 404), 'not_found'],
    [sdkError('NoSuchBucket', 404), 'fatal'],
    [sdkError('AccessDenied', 403), 'permission'],
    [sdkError('InvalidAccessKeyId', 403), 'permission'],
    [sdkError('SignatureDoesNotMatch', 403), 'permission'],
    [sdkError('PreconditionFailed', 412), 'exists'],
    [sdkError('ConditionalRequestConflict', 409), 'transient'],
    [sdkError('SlowDown', 503), 'transient'],
    [sdkError('InternalError', 500), 'transient'],
    [sdkError('Whatever', 502), 'transient'],
    [sdkError('TooManyRequests', 429), 'transient'],
    [sdkError('RequestTimeout', 400), 'transient'],
    [sdkError('TimeoutError'), 'transient'],
    [networkError('ECONNRESET'), 'transient'],
    [networkError('ECONNREFUSED'), 'transient'],
    [networkError('EPIPE'), 'transient'],
    [new Error('socket hang up'), 'transient'],
    [sdkError('InvalidArgument', 400), 'fatal'],
    [sdkError('EntityTooLarge', 400), 'fatal'],
  ] as const)('%s → %s', (err, kind) => {
    expect(kindOfS3Error(err)).toBe(kind);
  });

  it('recognises a refused feature', () => {
    expect(isNotImplemented(sdkError('NotImplemented', 501))).toBe(true);
    expect(isNotImplemented(sdkError('AccessDenied', 403))).toBe(false);
  });
});

describe('fromS3Error', () => {
  it('wraps SDK errors with operation, key and HTTP status', () => {
    const err = fromS3Error(sdkError('SlowDown', 503), 'put', 'data/ab/cd');
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).kind).toBe('transient');
    expect((err as StorageError).key).toBe('data/ab/cd');
    expect((err as StorageError).message).toMatch(/^put data\/ab\/cd: SlowDown.*HTTP 503/);
  });

  it('returns the signal reason once aborted, whatever the SDK threw', () => {
    const ac = new AbortController();
    ac.abort();
    expect(fromS3Error(sdkError('RequestAborted'), 'get', 'k', ac.signal)).toBe(ac.signal.reason);
  });
});
