import { InvalidArgumentError, type Command } from 'commander';
import { formatDuration, parseDuration } from '../../core/units.js';
import { killswitchStatus } from '../../killswitch/api.js';
import type { ModeState } from '../../killswitch/mode.js';
import { openModeStore } from '../../killswitch/open-store.js';
import { changeKillswitchRecorded, type KillswitchChange } from '../../killswitch/record.js';
import type { Runtime } from '../../engine/runtime.js';
import { EXIT } from '../../core/exit-codes.js';
import type { CommandOutput } from '../output.js';
import { examplesHelp, exitCodesHelp } from '../help.js';
import { runWithRuntime } from '../run.js';

const ENABLE_MODES = ['maintenance', 'degraded', 'read_only'] as const;

function modeArg(value: string): (typeof ENABLE_MODES)[number] {
  const mode = value.replace('-', '_');
  if (!(ENABLE_MODES as readonly string[]).includes(mode)) throw new InvalidArgumentError(`expected one of ${ENABLE_MODES.join(', ')}`);
  return mode as (typeof ENABLE_MODES)[number];
}

function durationArg(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError('expected a duration such as 30m or 2h');
  return ms;
}

async function withStore<T>(runtime: Runtime, fn: (store: Awaited<ReturnType<typeof openModeStore>>) => Promise<T>): Promise<T> {
  const section = runtime.config.killswitch;
  const store = await openModeStore(section?.store ?? '.reprise/killswitch.json', runtime.loaded.baseDir, { key: section?.key });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function describe(state: ModeState): string[] {
  if (state.mode === 'off') return [`killswitch: off${state.by ? ` (since ${state.since}, by ${state.by})` : ''}`];
  const lines = [`killswitch: ${state.mode} since ${state.since}${state.by ? ` by ${state.by}` : ''}`];
  if (state.reason) lines.push(`reason: ${state.reason}`);
  if (state.message) lines.push(`message: ${state.message}`);
  if (state.until) lines.push(`until: ${state.until} (in ${formatDuration(Math.max(0, Date.parse(state.until) - Date.now()))})`);
  return lines;
}

async function change(runtime: Runtime, request: KillswitchChange): Promise<CommandOutput> {
  return withStore(runtime, async (store) => {
    const result = await changeKillswitchRecorded(store, () => runtime.openCatalog(), request, runtime.signal);
    const text = describe(result.state);
    if (result.recordError) text.push(`warning: the change is in force but was not recorded in the catalog: ${result.recordError.message}`);
    return {
      json: { ...statusJson(result.state), recorded: result.runId !== undefined, ...(result.recordError ? { record_error: result.recordError.message } : {}) },
      text,
      ...(result.recordError ? { exitCode: EXIT.PARTIAL } : {}),
    };
  });
}

function statusJson(state: ModeState): Record<string, unknown> {
  return { mode: state.mode, reason: state.reason, since: state.since, until: state.until, by: state.by, message: state.message };
}

export function registerKillswitch(program: Command): void {
  const killswitch = program
    .command('killswitch')
    .description('Put every instance of the application in maintenance, degraded or read-only mode (store: killswitch.store)');

  killswitch
    .command('enable')
    .argument('<mode>', 'maintenance, degraded or read_only', modeArg)
    .description('Set a mode; every instance following the store applies it within a second')
    .requiredOption('--reason <text>', 'why (recorded in the catalog, shown in status)')
    .option('--for <duration>', 'lapse back to off after this long (e.g. 30m)', durationArg)
    .option('--message <text>', 'shown to users on the maintenance page and in JSON answers')
    .addHelpText(
      'after',
      examplesHelp(['reprise killswitch enable maintenance --reason "restore of app-db" --for 30m', 'reprise killswitch enable read_only --reason migration --message "Saving is paused"']) +
        exitCodesHelp(['OK', 'FAILURE', 'USAGE', 'PARTIAL']),
    )
    .action(async (mode: (typeof ENABLE_MODES)[number], options: { reason: string; for?: number; message?: string }, command: Command) =>
      runWithRuntime(command, (runtime) =>
        change(runtime, {
          mode,
          reason: options.reason,
          message: options.message,
          until: options.for !== undefined ? new Date(Date.now() + options.for) : undefined,
          by: runtime.actor,
        }),
      ),
    );

  killswitch
    .command('disable')
    .description('Turn the killswitch off: every instance serves normally again within a second')
    .option('--reason <text>', 'why (recorded in the catalog)')
    .addHelpText('after', examplesHelp(['reprise killswitch disable']) + exitCodesHelp(['OK', 'FAILURE', 'USAGE', 'PARTIAL']))
    .action(async (options: { reason?: string }, command: Command) =>
      runWithRuntime(command, (runtime) => change(runtime, { mode: 'off', by: runtime.actor, reason: options.reason })),
    );

  killswitch
    .command('status')
    .description('Show the mode in force: {mode, reason, since, until, by, message}')
    .addHelpText('after', examplesHelp(['reprise killswitch status', 'reprise killswitch status --json']) + exitCodesHelp(['OK', 'FAILURE', 'USAGE']))
    .action(async (_options: unknown, command: Command) =>
      runWithRuntime(command, (runtime) =>
        withStore(runtime, async (store) => {
          const state = await killswitchStatus(store, runtime.signal);
          return { json: statusJson(state), text: describe(state) };
        }),
      ),
    );
}
