import { InvalidArgumentError, type Command } from 'commander';
import type { Retention } from '../../config/fields.js';
import { parseDuration } from '../../core/units.js';
import { forgetSnapshots, pruneRepository } from '../../engine/forget.js';
import { bytes, shortId, when } from '../output.js';
import { examplesHelp, exitCodesHelp } from '../help.js';
import { runWithRuntime } from '../run.js';

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}
function durationArg(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 7d or 12h');
  return ms;
}

interface ForgetOptions {
  prune: boolean;
  dryRun: boolean;
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  keepWithin?: number;
}

export function registerForget(program: Command): void {
  program
    .command('forget')
    .argument('[source...]', 'sources to apply retention to (default: all)')
    .description("Remove snapshots that the retention policy does not keep (the source's `retention`, else `defaults.retention`, unless --keep-* are given)")
    .option('--prune', 'also remove the data no snapshot references any more', false)
    .option('--dry-run', 'only show what would be removed and why each kept snapshot is kept', false)
    .option('--keep-last <n>', 'keep the n newest snapshots', count)
    .option('--keep-hourly <n>', 'keep the newest snapshot of each of the last n hours that have one', count)
    .option('--keep-daily <n>', 'same per day', count)
    .option('--keep-weekly <n>', 'same per ISO week', count)
    .option('--keep-monthly <n>', 'same per month', count)
    .option('--keep-yearly <n>', 'same per year', count)
    .option('--keep-within <duration>', 'keep every snapshot younger than this, relative to the newest (e.g. 7d)', durationArg)
    .addHelpText(
      'after',
      examplesHelp(['reprise forget --dry-run', 'reprise forget app-db --keep-daily 7 --keep-weekly 4 --prune']) +
        exitCodesHelp(['OK', 'USAGE', 'REPO_MISSING', 'REPO_LOCKED', 'WRONG_PASSWORD', 'STORAGE']),
    )
    .action(async (sources: string[], o: ForgetOptions, command: Command) =>
      runWithRuntime(command, async (runtime) => {
        const policy: Retention = {};
        const set = (key: keyof Retention, value: number | undefined) => {
          if (value !== undefined) policy[key] = value;
        };
        set('last', o.keepLast);
        set('hourly', o.keepHourly);
        set('daily', o.keepDaily);
        set('weekly', o.keepWeekly);
        set('monthly', o.keepMonthly);
        set('yearly', o.keepYearly);
        set('within', o.keepWithin);
        const result = await forgetSnapshots(runtime, { sources, policy, dryRun: o.dryRun, prune: o.prune });
        const text: string[] = [];
        for (const plan of result.plans) {
          text.push(`${plan.source}: keep ${plan.keep.length}, remove ${plan.remove.length}${result.dryRun ? ' (dry run)' : ''}`);
          for (const k of plan.keep) text.push(`  keep   ${shortId(k.id)} ${when(k.time)}  ${k.reasons.join('; ')}`);
          for (const r of plan.remove) text.push(`  remove ${shortId(r.id)} ${when(r.time)}`);
        }
        if (result.prune) text.push(`pruned: ${result.prune.packsDeleted} packs deleted, ${result.prune.packsRepacked} repacked, ${bytes(result.prune.bytesFreed)} freed`);
        return { json: result, text };
      }),
    );

  program
    .command('prune')
    .description('Remove data no snapshot references and repack packs that are mostly garbage')
    .option('--dry-run', 'only report what would be freed', false)
    .addHelpText('after', examplesHelp(['reprise prune', 'reprise prune --dry-run --json']) + exitCodesHelp(['OK', 'REPO_MISSING', 'REPO_LOCKED', 'WRONG_PASSWORD', 'STORAGE']))
    .action(async (o: { dryRun: boolean }, command: Command) =>
      runWithRuntime(command, async (runtime) => {
        const r = await pruneRepository(runtime, o.dryRun);
        return {
          json: r,
          text: [`${o.dryRun ? 'would free' : 'freed'} ${bytes(r.bytesFreed)}: ${r.packsDeleted} packs deleted, ${r.packsRepacked} repacked, ${r.chunksRemoved} chunks removed`],
        };
      }),
    );
}
