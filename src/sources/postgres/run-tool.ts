import { spawn } from 'node:child_process';
import { RepriseError } from '../../core/errors.js';
import { redactSecret } from './conn.js';

const STDERR_KEEP = 16 * 1024;

export interface RunToolOptions {
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  /** Password to scrub from the tool's output before it is put in an error. */
  password: string | undefined;
  /** Where stdout goes: a file descriptor (e.g. of an open file), or 'capture' (bounded). */
  stdout?: number | 'capture' | 'ignore';
}

export interface RunToolResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs an external tool to completion. Non-zero exit or death by signal → REPRISE_TOOL_FAILED with
 * the tail of its stderr (password scrubbed); not found → REPRISE_TOOL_MISSING. The tool runs in its
 * own process group so that abort kills it and every worker it forked (pg_dump -j), then throws
 * REPRISE_ABORTED once the group is gone.
 */
export async function runTool(path: string, args: string[], options: RunToolOptions): Promise<RunToolResult> {
  const { signal } = options;
  if (signal.aborted) throw new RepriseError('REPRISE_ABORTED', 'operation cancelled');
  const out = options.stdout ?? 'ignore';
  const child = spawn(path, args, {
    env: options.env,
    detached: true,
    stdio: ['ignore', out === 'capture' ? 'pipe' : out, 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_KEEP);
  });
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    stdout = (stdout + text).slice(-4 * STDERR_KEEP);
  });
  const killGroup = (): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  };
  signal.addEventListener('abort', killGroup, { once: true });
  try {
    const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve([c, s]));
    }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        throw new RepriseError('REPRISE_TOOL_MISSING', `${path} not found`, {
          hint: 'Install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client), or set bin_dir.',
          cause: err,
        });
      }
      throw new RepriseError('REPRISE_TOOL_FAILED', `${path} could not be started: ${err.message}`, { cause: err });
    });
    if (signal.aborted) {
      killGroup();
      throw new RepriseError('REPRISE_ABORTED', 'operation cancelled');
    }
    if (code !== 0) {
      const name = path.split('/').pop() ?? path;
      const how = sig === null ? `exit code ${code}` : `signal ${sig}`;
      const text = redactSecret(stderr.trim(), options.password);
      throw new RepriseError('REPRISE_TOOL_FAILED', `${name} failed (${how}): ${text || '(no output)'}`, {
        hint: `Read the ${name} message above; fix its cause (locks, permissions, disk space) and run again.`,
        details: { tool: name, exitCode: code, signal: sig },
      });
    }
    return { stdout, stderr };
  } finally {
    signal.removeEventListener('abort', killGroup);
  }
}
