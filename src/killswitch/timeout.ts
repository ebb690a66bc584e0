import { RepriseError } from '../core/errors.js';

/**
 * Resolves as `work` does, or rejects with REPRISE_KILLSWITCH_STORE after `ms` or when `signal`
 * aborts (REPRISE_ABORTED). The work itself is not cancelled: callers pass a `cleanup` that is.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string, signal?: AbortSignal, cleanup?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const timer = setTimeout(() => {
      cleanup?.();
      finish(() => reject(new RepriseError('REPRISE_KILLSWITCH_STORE', `${what}: no answer within ${ms} ms`)));
    }, ms);
    const onAbort = (): void => {
      cleanup?.();
      finish(() => reject(new RepriseError('REPRISE_ABORTED', `${what}: cancelled`)));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(err)),
    );
  });
}

/** Wraps a driver error into REPRISE_KILLSWITCH_STORE, keeping RepriseErrors as they are. Never throws. */
export function storeError(err: unknown, what: string): RepriseError {
  if (err instanceof RepriseError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RepriseError('REPRISE_KILLSWITCH_STORE', `${what}: ${message}`, { cause: err });
}
