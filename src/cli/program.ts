import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { EXIT } from '../core/exit-codes.js';
import { COMMANDS } from './commands/index.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The `reprise` program with every command registered. */
export function createProgram(): Command {
  const program = new Command('reprise')
    .description('Disaster recovery as code: verified, encrypted, deduplicated backups and recovery from one reprise.yaml')
    .version(version)
    .option('-c, --config <file>', 'configuration file (default: $REPRISE_CONFIG, then ./reprise.yaml)')
    .option('--json', 'print one JSON document on stdout (errors too)', false)
    .option('-q, --quiet', 'print nothing on success', false)
    .addOption(new Option('--no-progress', 'no progress bars (they are drawn only on a terminal anyway)'))
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .addHelpText(
      'after',
      `\nEnvironment:\n  REPRISE_CONFIG     configuration file when -c is not given\n  REPRISE_PASSWORD   conventional variable for repository.password: \${REPRISE_PASSWORD}\n  REPRISE_CACHE_DIR  local cache of remote repositories (default: $XDG_CACHE_HOME/reprise,\n                     else ~/.cache/reprise; \`off\` for none)\n\nExit codes are listed in each command's --help and in docs/errors.md.`,
    );
  program.exitOverride((err) => {
    // commander's own errors (unknown option, missing argument) are usage errors.
    process.exit(err.exitCode === 0 ? 0 : EXIT.USAGE);
  });
  for (const register of COMMANDS) register(program);
  return program;
}
