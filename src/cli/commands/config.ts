import type { Command } from 'commander';
import { stringify } from 'yaml';
import { loadConfig } from '../../config/load.js';
import { redact } from '../../config/redact.js';
import { examplesHelp, exitCodesHelp } from '../help.js';
import type { GlobalOptions } from '../run.js';
import { runPlain } from '../run.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('Work with reprise.yaml');
  config
    .command('check')
    .description('Validate the configuration and print it resolved (defaults applied, ${VAR} expanded), secrets redacted')
    .addHelpText('after', examplesHelp(['reprise config check', 'reprise -c prod.yaml config check --json']) + exitCodesHelp(['OK', 'USAGE']))
    .action(async (_options, command: Command) =>
      runPlain(command, async () => {
        const loaded = loadConfig({ file: command.optsWithGlobals<GlobalOptions>().config });
        const resolved = redact(loaded.config);
        return {
          json: { file: loaded.file, valid: true, config: resolved },
          text: [`${loaded.file}: valid`, `sources: ${Object.keys(loaded.config.sources).join(', ') || '(none)'}`, '', stringify(resolved).trimEnd()],
        };
      }),
    );
}
