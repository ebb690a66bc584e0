import type { Command } from 'commander';
import { listSnapshots } from '../../engine/snapshots.js';
import { bytes, shortId, table, when } from '../output.js';
import { examplesHelp, exitCodesHelp } from '../help.js';
import { runWithRuntime } from '../run.js';

export function registerSnapshots(program: Command): void {
  program
    .command('snapshots')
    .description('List snapshots, newest first (size = raw bytes, added = stored bytes the snapshot added)')
    .option('-s, --source <name>', 'only snapshots of this source')
    .addHelpText('after', examplesHelp(['reprise snapshots', 'reprise snapshots --source app-db --json']) + exitCodesHelp(['OK', 'USAGE', 'REPO_MISSING', 'WRONG_PASSWORD']))
    .action(async (options: { source?: string }, command: Command) =>
      runWithRuntime(command, async (runtime) => {
        const rows = await listSnapshots(runtime, options.source);
        return {
          json: rows,
          text:
            rows.length === 0
              ? ['no snapshots']
              : table(
                  ['ID', 'TIME (UTC)', 'SOURCE', 'HOST', 'TAGS', 'SIZE', 'ADDED'],
                  rows.map((r) => [shortId(r.id), when(r.time), r.source, r.host, r.tags.join(','), bytes(r.size), bytes(r.added)]),
                ),
        };
      }),
    );
}
