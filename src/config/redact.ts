/** The one function that hides secrets before anything is printed, logged or stored. */

const SECRET_KEY = /(password|passwd|secret|token|webhook|smtp|access_key|api_key|credentials?)$/i;
export const REDACTED = '***';

/** Hides the password of a URL (`postgres://u:p@h/db` → `postgres://u:***@h/db`). Never throws. */
export function redactUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s]+)(@)/gi, `$1${REDACTED}$3`);
}

/**
 * A deep copy of `value` with secrets replaced: values of secret-named keys entirely, and
 * passwords inside URLs. Never throws; idempotent.
 */
export function redact<T>(value: T): T {
  return walk(value, undefined) as T;
}

function walk(value: unknown, key: string | undefined): unknown {
  if (typeof value === 'string') {
    if (key !== undefined && SECRET_KEY.test(key) && value !== '') return REDACTED;
    return redactUrl(value);
  }
  if (Array.isArray(value)) return value.map((item) => walk(item, key));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
  }
  return value;
}
