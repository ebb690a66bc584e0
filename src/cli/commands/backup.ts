import type { Command } from 'commander';
import { EXIT } from '../../core/exit-codes.js';
import { toRepriseError } from '../../core/errors.js';
import { backupSource, type BackupResult } from '../../engine/backup.js';
import { bytes, duration, shortId } from '../output.js';
import { examplesHelp, exitCodesHelp } from '../help.js';
import { runWithRuntime } from '../run.js';

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .argument('[source...]', 'sources to back up (default: all declared sources)')
    .description('Back up sources into the repository, then copy the new snapshots to every `copies:` destination')
    .addHelpText(
      'after',
      examplesHelp(['reprise backup', 'reprise backup app-db uploads --json']) +
        exitCodesHelp(['OK', 'FAILURE', 'USAGE', 'PARTIAL', 'REPO_MISSING', 'REPO_LOCKED', 'WRONG_PASSWORD', 'SOURCE', 'STORAGE', 'INTERRUPTED']),
    )
    .action(async (sources: string[], _options, command: Command) =>
      runWithRuntime(command, async (runtime) => {
        const names = runtime.sourceNames(sources);
        const results: BackupResult[] = [];
        const failures: Array<{ source: string; code: string; message: string; hint: string }> = [];
        for (const name of names) {
          try {
            results.push(await backupSource(runtime, name));
          } catch (err) {
            runtime.signal.throwIfAborted();
            // One failing source must not stop the others; a single source keeps its own exit code.
            if (names.length === 1) throw err;
            const error = toRepriseError(err);
            failures.push({ source: name, code: error.code, message: error.message, hint: error.hint });
          }
        }
        const copyFailed = results.some((r) => r.copyErrors.length > 0);
        const text = results.map(
          (r) =>
            `${r.source}: snapshot ${shortId(r.snapshot)} saved — ${r.files} files (${r.filesUnchanged} unchanged), read ${bytes(r.bytesRead)}, added ${bytes(r.bytesAdded)}, ${duration(r.durationMs)}` +
            (r.copies.length ? `, copied to ${r.copies.join(', ')}` : '') +
            r.copyErrors.map((c) => `\n  copy to ${c.copy} failed: ${c.message}`).join(''),
        );
        for (const f of failures) text.push(`${f.source}: FAILED ${f.code}: ${f.message}\n  hint: ${f.hint}`);
        return {
          json: { snapshots: results, failures },
          text,
          exitCode: failures.length > 0 || copyFailed ? EXIT.PARTIAL : EXIT.OK,
        };
      }),
    );
}
