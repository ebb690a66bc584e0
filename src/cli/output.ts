import { formatBytes, formatDuration } from '../core/units.js';

/** What a command hands back to be printed: JSON for --json, lines for people. */
export interface CommandOutput {
  json: unknown;
  text: string[];
  /** Exit code when the command succeeded but must signal something (PARTIAL, check failures…). */
  exitCode?: number;
}

/** A plain-text table with aligned columns; numbers right-aligned. */
export function table(headers: string[], rows: Array<Array<string | number>>): string[] {
  const cells = rows.map((row) => row.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || /^[\d.,]+\s?[KMGTP]?i?B$|^\d+$/.test(String(r[i] ?? ''))));
  const line = (row: string[]) =>
    row.map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
}

export { formatBytes as bytes, formatDuration as duration };

/** `2026-11-25T11:09:43.123Z` → `2026-11-25 11:09:43` (UTC, as stored). */
export function when(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}

/** First 8 characters of an id, as shown in tables (any unique prefix is accepted back). */
export function shortId(id: string): string {
  return id.slice(0, 8);
}
