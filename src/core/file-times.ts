/**
 * A file time in milliseconds (with microseconds, as parts record it) as the seconds to give
 * fs.utimes/futimes/lutimes. libuv truncates the double it receives to whole microseconds, and
 * `ms / 1000` of a time ending in .500 ms can land a hair below it (1796408034.4805 s is stored as
 * 1796408034.48049998…), which then restores .499 ms: half a microsecond added before the
 * truncation gives back exactly the recorded microsecond. Pure; kept free of outside references,
 * as the worker threads run its source text.
 */
export function utimesSeconds(mtimeMs: number): number {
  return (Math.round(mtimeMs * 1000) + 0.5) / 1e6;
}
