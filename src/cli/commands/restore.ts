import type { Command } from 'commander';
import { restoreSnapshot } from '../../engine/restore.js';
import { bytes, duration, shortId } from '../output.js';
import { examplesHelp, exitCodesHelp } from '../help.js';
import { runWithRuntime } from '../run.js';

export function registerRestore(program: Command): void {
  program
    .command('restore')
    .argument('<source>', 'the source whose snapshot to restore')
    .requiredOption('--to <target>', 'where to restore: a folder for files, a database URL or file path for databases')
    .option('--snapshot <id>', 'snapshot id (a unique prefix is enough) or "latest"', 'latest')
    .option('--force', 'restore over a non-empty target (a safety snapshot of it is taken first)', false)
    .option('--sync', 'flush the restored data to disk before reporting success (files: one syncfs of the target)', false)
    .description('Restore a snapshot into a new target (or over an existing one with --force), verifying every chunk')
    .addHelpText(
      'after',
      examplesHelp([
        'reprise restore uploads --to /srv/restore/uploads',
        'reprise restore app-db --snapshot 1a2b3c4d --to postgres://postgres@127.0.0.1/akig_restored',
        'reprise restore app-db --to postgres://postgres@127.0.0.1/akig --force',
      ]) + exitCodesHelp(['OK', 'FAILURE', 'USAGE', 'REPO_MISSING', 'REPO_LOCKED', 'WRONG_PASSWORD', 'INTEGRITY', 'TARGET', 'STORAGE', 'INTERRUPTED']),
    )
    .action(async (source: string, options: { to: string; snapshot: string; force: boolean; sync: boolean }, command: Command) =>
      runWithRuntime(command, async (runtime) => {
        const result = await restoreSnapshot(runtime, { source, snapshot: options.snapshot, to: options.to, force: options.force, sync: options.sync });
        const text = [
          `restored snapshot ${shortId(result.snapshot)} of ${source} (${result.snapshotTime}) into ${result.target}: ${result.parts} parts, ${bytes(result.bytes)} in ${duration(result.durationMs)}`,
        ];
        if (result.safetySnapshot) text.push(`safety snapshot of the previous content: ${shortId(result.safetySnapshot)} (reprise snapshots --source ${source})`);
        return { json: result, text };
      }),
    );
}
