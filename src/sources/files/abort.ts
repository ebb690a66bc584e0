import { RepriseError } from '../../core/errors.js';

/** Throws REPRISE_ABORTED when `signal` is aborted; otherwise does nothing. Idempotent. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) {
    throw new RepriseError('REPRISE_ABORTED', 'operation cancelled', { cause: signal.reason });
  }
}
