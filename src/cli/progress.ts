import cliProgress from 'cli-progress';
import { formatBytes } from '../core/units.js';
import type { EngineEvent } from '../engine/events.js';

/**
 * Draws engine progress on stderr when it is a terminal; returns a no-op elsewhere (cron, CI,
 * pipes) so logs stay clean.
 */
export function createProgressRenderer(enabled: boolean): { onEvent: (event: EngineEvent) => void; stop: () => void } {
  const warn = (event: EngineEvent) => {
    if (event.type === 'warning') process.stderr.write(`warning: ${event.subject}: ${event.message}\n`);
  };
  if (!enabled || !process.stderr.isTTY) return { onEvent: warn, stop: () => {} };
  let bar: cliProgress.SingleBar | undefined;
  let current = '';
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    stop,
    onEvent(event) {
      if (event.type === 'warning') {
        stop();
        warn(event);
        return;
      }
      if (event.type !== 'progress') return;
      const key = `${event.subject}/${event.phase}`;
      if (key !== current || !bar) {
        stop();
        current = key;
        const format = (value: number) => (event.unit === 'bytes' ? formatBytes(value) : String(value));
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `${event.phase} ${event.subject} [{bar}] {percentage}% {done}/{all} {eta_formatted}`,
            hideCursor: true,
            clearOnComplete: true,
            formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? format(v) : String(v)),
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(event.total ?? event.done, event.done, { done: format(event.done), all: event.total ? format(event.total) : '?' });
      }
      if (event.total && event.total !== bar.getTotal()) bar.setTotal(event.total);
      if (!event.total && event.done > bar.getTotal()) bar.setTotal(event.done);
      const format = (value: number) => (event.unit === 'bytes' ? formatBytes(value) : String(value));
      bar.update(event.done, { done: format(event.done), all: event.total ? format(event.total) : '?' });
    },
  };
}
