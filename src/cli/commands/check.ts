import { InvalidArgumentError, type Command } from 'commander';
import { EXIT } from '../../core/exit-codes.js';
import { checkRepository } from '../../engine/check.js';
import { bytes, shortId } from '../output.js';
import { examplesHelp, exitCodesHelp } from '../help.js';
import { runWithRuntime } from '../run.js';

function percentArg(value: string): number {
  const match = /^(\d+(?:\.\d+)?)%?$/.exec(value);
  const pct = match ? Number(match[1]) : NaN;
  if (!(pct > 0 && pct <= 100)) throw new InvalidArgumentError('expected a percentage between 0 and 100, e.g. 10%');
  return pct;
}

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('Verify the repository structure and index; with --read-data, decrypt and hash every chunk')
    .option('--read-data', 'read and verify all stored data', false)
    .option('--read-data-subset <percent>', 'read and verify this share of the packs (e.g. 10%)', percentArg)
    .addHelpText(
      'after',
      examplesHelp(['reprise check', 'reprise check --read-data', 'reprise check --read-data-subset 10% --json']) +
        exitCodesHelp(['OK', 'REPO_MISSING', 'WRONG_PASSWORD', 'INTEGRITY', 'STORAGE']),
    )
    .action(async (options: { readData: boolean; readDataSubset?: number }, command: Command) =>
      runWithRuntime(command, async (runtime) => {
        const readData = options.readData ? true : (options.readDataSubset ?? false);
        const report = await checkRepository(runtime, readData);
        const text = report.ok
          ? [`no errors: ${report.packsChecked} packs${readData ? `, ${bytes(report.bytesChecked)} of data read and verified` : ' (structure only; add --read-data to verify content)'}`]
          : [
              `repository damaged: ${report.errors.length} problem(s)`,
              ...report.errors.map((e) => `  ${e}`),
              `damaged packs: ${report.damagedPacks.join(', ') || '(none)'}`,
              `affected snapshots: ${report.affectedSnapshots.map(shortId).join(', ') || '(none)'}`,
              'hint: forget the affected snapshots or restore them from a copy; `reprise prune` then drops the damaged packs.',
            ];
        return { json: report, text, exitCode: report.ok ? EXIT.OK : EXIT.INTEGRITY };
      }),
    );
}
