import type { Command } from 'commander';
import { repositoryStats } from '../../engine/stats.js';
import { bytes } from '../output.js';
import { examplesHelp, exitCodesHelp } from '../help.js';
import { runWithRuntime } from '../run.js';

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('Raw vs stored size, deduplication and compression ratios')
    .addHelpText('after', examplesHelp(['reprise stats --json']) + exitCodesHelp(['OK', 'REPO_MISSING', 'WRONG_PASSWORD']))
    .action(async (_o, command: Command) =>
      runWithRuntime(command, async (runtime) => {
        const s = await repositoryStats(runtime);
        return {
          json: s,
          text: [
            `repository   ${s.location}`,
            `snapshots    ${s.snapshots}`,
            `raw size     ${bytes(s.rawBytes)} (all snapshots)`,
            `unique data  ${bytes(s.uniqueBytes)} in ${s.chunks} chunks`,
            `stored       ${bytes(s.storedBytes)} in ${s.packs} packs`,
            `dedup        ${s.dedupRatio.toFixed(2)}×`,
            `compression  ${s.compressionRatio.toFixed(2)}×`,
          ],
        };
      }),
    );
}
