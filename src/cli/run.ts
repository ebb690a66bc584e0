import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { redact } from '../config/redact.js';
import { EXIT } from '../core/exit-codes.js';
import { toRepriseError } from '../core/errors.js';
import { Runtime } from '../engine/runtime.js';
import type { CommandOutput } from './output.js';
import { createProgressRenderer } from './progress.js';

/** Options every command accepts (declared on the root program). */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
  quiet?: boolean;
  progress?: boolean;
}

/**
 * Runs a command body with a Runtime over the loaded configuration, a signal wired to
 * Ctrl-C/SIGTERM, progress on a TTY, and one place that prints results and errors and sets the
 * exit code. Never throws: every failure becomes `error:`/`hint:` (or a JSON object) and an exit code.
 */
export async function runWithRuntime(command: Command, body: (runtime: Runtime) => Promise<CommandOutput>): Promise<void> {
  const globals = command.optsWithGlobals<GlobalOptions>();
  await runPlain(command, async (signal) => {
    const loaded = loadConfig({ file: globals.config });
    const progress = createProgressRenderer(!globals.json && !globals.quiet && globals.progress !== false);
    const runtime = new Runtime(loaded, { signal, emit: progress.onEvent });
    try {
      return await body(runtime);
    } finally {
      progress.stop();
      await runtime.close();
    }
  });
}

/** Like runWithRuntime, for commands that need no repository (config check, gate…). Never throws. */
export async function runPlain(command: Command, body: (signal: AbortSignal) => Promise<CommandOutput>): Promise<void> {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (name: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.INTERRUPTED);
    if (!globals.json) process.stderr.write(`\n${name}: stopping cleanly (press Ctrl-C again to force)…\n`);
    controller.abort(new DOMException(`interrupted by ${name}`, 'AbortError'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const output = await body(controller.signal);
    if (globals.json) process.stdout.write(`${JSON.stringify(output.json, null, 2)}\n`);
    else if (!globals.quiet || (output.exitCode ?? 0) !== 0) for (const line of output.text) process.stdout.write(`${line}\n`);
    process.exitCode = output.exitCode ?? EXIT.OK;
  } catch (err) {
    const error = toRepriseError(controller.signal.aborted ? (controller.signal.reason ?? err) : err);
    if (globals.json) {
      process.stdout.write(`${JSON.stringify(redact({ error: error.toJSON() }), null, 2)}\n`);
    } else {
      process.stderr.write(`error: ${redactMessage(error.message)}\nhint: ${error.hint}\n`);
      if (process.env.REPRISE_DEBUG && error.cause) process.stderr.write(`cause: ${String((error.cause as Error).stack ?? error.cause)}\n`);
    }
    process.exitCode = error.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function redactMessage(message: string): string {
  return redact({ message }).message;
}
