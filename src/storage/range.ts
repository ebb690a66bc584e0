import { StorageError, type ByteRange } from './backend.js';

/**
 * Rejects ranges that no backend can serve (negative, fractional, unsafe numbers) with a
 * StorageError `fatal`, so every backend answers the same way. Idempotent.
 */
export function checkRange(range: ByteRange, key: string): void {
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new StorageError('fatal', `invalid range ${offset}+${length} for ${key}`, { key });
  }
}

/** The error every backend gives for a range that ends past the object's end. Never throws. */
export function rangeBeyondEnd(range: ByteRange, key: string, size: number): StorageError {
  return new StorageError('fatal', `range ${range.offset}+${range.length} beyond end of ${key} (${size} bytes)`, { key });
}
