import type { Command } from 'commander';
import { copySnapshots } from '../../engine/copy.js';
import { bytes } from '../output.js';
import { examplesHelp, exitCodesHelp } from '../help.js';
import { runWithRuntime } from '../run.js';

export function registerCopy(program: Command): void {
  program
    .command('copy')
    .argument('[source...]', 'only snapshots of these sources (default: all)')
    .requiredOption('--to <name>', 'a destination named under `copies:`')
    .description('Copy snapshots to another repository, uploading only the chunks it lacks (backup does this automatically)')
    .addHelpText('after', examplesHelp(['reprise copy --to offsite']) + exitCodesHelp(['OK', 'USAGE', 'REPO_MISSING', 'REPO_LOCKED', 'WRONG_PASSWORD', 'STORAGE']))
    .action(async (sources: string[], o: { to: string }, command: Command) =>
      runWithRuntime(command, async (runtime) => {
        const r = await copySnapshots(runtime, o.to, sources);
        return {
          json: r,
          text: [`copied ${r.snapshotsCopied} snapshot(s) to ${r.copy} (${r.snapshotsSkipped} already there): ${r.chunksUploaded} chunks, ${bytes(r.bytesUploaded)} uploaded`],
        };
      }),
    );
}
