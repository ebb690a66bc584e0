import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { RepriseError, isRepriseError } from '../../core/errors.js';
import { runToolText, toolOutput } from '../process.js';
import { redactSecret } from './conn.js';

export interface RunToolOptions {
  /** Extra environment (PGPASSWORD…) on top of the process environment. */
  env: Record<string, string>;
  signal: AbortSignal;
  /** Password to scrub from the tool's output before it is put in an error. */
  password: string | undefined;
  /** Write stdout to this file (created, 0600) instead of returning it. */
  stdoutFile?: string;
}

/**
 * Runs a PostgreSQL client tool to completion through the shared runner (own process group, so
 * abort also kills pg_dump's workers) and returns its stdout (empty with `stdoutFile`). Non-zero
 * exit → REPRISE_TOOL_FAILED with stderr, password scrubbed; REPRISE_TOOL_MISSING; REPRISE_ABORTED.
 * Not idempotent (runs the tool).
 */
export async function runTool(path: string, args: string[], options: RunToolOptions): Promise<string> {
  const name = path.split('/').pop() ?? path;
  const opts = { env: options.env, signal: options.signal, label: name };
  try {
    if (options.stdoutFile === undefined) return await runToolText(path, args, opts);
    await pipeline(toolOutput(path, args, opts), createWriteStream(options.stdoutFile, { flags: 'wx', mode: 0o600 }));
    return '';
  } catch (err) {
    if (options.signal.aborted) throw new RepriseError('REPRISE_ABORTED', `${name} cancelled`, { cause: err });
    if (isRepriseError(err, 'REPRISE_TOOL_FAILED')) {
      throw new RepriseError('REPRISE_TOOL_FAILED', redactSecret(err.message, options.password), {
        hint: `Read the ${name} message above; fix its cause (locks, permissions, disk space, missing extension) and run again.`,
        details: { tool: name, ...(err.details ?? {}), stderr: redactSecret(String(err.details?.['stderr'] ?? ''), options.password) },
      });
    }
    throw err;
  }
}
