import type { Command } from 'commander';
import { initRepository } from '../../engine/init.js';
import { examplesHelp, exitCodesHelp } from '../help.js';
import { runWithRuntime } from '../run.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('Create the repository named by repository.url (and the catalog); refuses an existing one')
    .addHelpText('after', examplesHelp(['REPRISE_PASSWORD=… reprise init', 'reprise -c /etc/reprise.yaml init --json']) + exitCodesHelp(['OK', 'FAILURE', 'USAGE', 'STORAGE']))
    .action(async (_options, command: Command) =>
      runWithRuntime(command, async (runtime) => {
        const result = await initRepository(runtime);
        return {
          json: result,
          text: [`created repository ${result.id.slice(0, 8)} at ${result.repository}`, `catalog: ${result.catalog}`, 'Keep the password safe: without it the data cannot be read.'],
        };
      }),
    );
}
