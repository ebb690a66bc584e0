import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RepriseError } from '../core/errors.js';
import type { ByteStream } from './source.js';

/** How much of a tool's stderr is kept for the error message (the tail is where the cause is). */
const STDERR_LIMIT = 16 * 1024;

export interface ToolOptions {
  /** Extra environment variables (e.g. MYSQL_PWD, PGPASSWORD): secrets go here, never in args. */
  env?: Record<string, string>;
  /** Search path; defaults to process.env.PATH. */
  path?: string;
  signal: AbortSignal;
  /** Shown in error messages instead of the full command line (which may be long). */
  label?: string;
}

/**
 * Returns the absolute path of the first of `names` found on PATH, or undefined. Never throws;
 * idempotent.
 */
export function whichTool(names: readonly string[], searchPath = process.env.PATH ?? ''): string | undefined {
  for (const name of names) {
    for (const dir of searchPath.split(delimiter)) {
      if (!dir) continue;
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here; keep looking
      }
    }
  }
  return undefined;
}

/**
 * Like whichTool, but throws REPRISE_TOOL_MISSING naming `pkg` (the package that provides the
 * tool) when none is found. Idempotent.
 */
export function requireTool(names: readonly string[], pkg: string, searchPath?: string): string {
  const found = whichTool(names, searchPath);
  if (!found) {
    throw new RepriseError('REPRISE_TOOL_MISSING', `none of ${names.join(', ')} is installed (not found on PATH)`, {
      hint: `Install the ${pkg} package (e.g. \`apt-get install ${pkg}\`) or add its folder to PATH.`,
      details: { tools: [...names] },
    });
  }
  return found;
}

interface Running {
  child: ChildProcess;
  /** Resolves with the exit code (or null when killed by a signal) once all stdio is closed. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  /** Terminates the tool and its process group; a no-op once it has exited. */
  kill: () => void;
}

function start(command: string, args: readonly string[], opts: ToolOptions, stdin: 'pipe' | 'ignore'): Running {
  opts.signal.throwIfAborted();
  const env = { ...process.env, ...(opts.path === undefined ? {} : { PATH: opts.path }), ...opts.env };
  // A process group of its own, so that abort also stops whatever the tool spawned (a shell
  // wrapper's children would otherwise keep stdout open).
  const child = spawn(command, [...args], { env, stdio: [stdin, 'pipe', 'pipe'], detached: true });
  const kill = (): void => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      child.kill('SIGTERM');
    }
  };
  const onAbort = (): void => {
    kill();
    child.stdout?.destroy();
  };
  opts.signal.addEventListener('abort', onAbort, { once: true });
  child.once('close', () => opts.signal.removeEventListener('abort', onAbort));
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr += text;
    if (stderr.length > STDERR_LIMIT * 2) stderr = stderr.slice(-STDERR_LIMIT);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        reject(new RepriseError('REPRISE_TOOL_MISSING', `${command} is not installed (not found on PATH)`, { cause: err }));
      } else reject(new RepriseError('REPRISE_TOOL_FAILED', `${opts.label ?? command} could not start: ${err.message}`, { cause: err }));
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  // A rejection is observed by whoever awaits exit; avoid an unhandled rejection in the meantime.
  exit.catch(() => undefined);
  return { child, exit, kill, stderr: () => stderr.slice(-STDERR_LIMIT).trim() };
}

function failure(label: string, result: { code: number | null; signal: NodeJS.Signals | null }, stderr: string): RepriseError {
  const how = result.code === null ? `was killed by ${result.signal ?? 'a signal'}` : `exited with code ${result.code}`;
  return new RepriseError('REPRISE_TOOL_FAILED', `${label} ${how}${stderr ? `: ${stderr}` : ''}`, {
    details: { exitCode: result.code, signal: result.signal, stderr },
  });
}

/**
 * Spawns a tool and yields its stdout as it comes (memory does not grow with output size). After
 * the last byte it waits for the exit status and throws REPRISE_TOOL_FAILED (with stderr) on a
 * non-zero exit, so a consumer never mistakes a failed run for a complete stream. Abandoning the
 * iteration kills the tool. Throws REPRISE_TOOL_MISSING, REPRISE_ABORTED. Not idempotent (runs the tool).
 */
export async function* toolOutput(command: string, args: readonly string[], opts: ToolOptions): AsyncGenerator<Uint8Array> {
  const run = start(command, args, opts, 'ignore');
  const label = opts.label ?? command;
  let finished = false;
  try {
    const stdout = run.child.stdout as Readable;
    try {
      for await (const chunk of stdout as AsyncIterable<Buffer>) yield chunk;
    } catch (err) {
      // A spawn failure or abort destroys stdout: the exit promise or the signal carry the better error.
      if (opts.signal.aborted) throw new RepriseError('REPRISE_ABORTED', `${label} cancelled`, { cause: opts.signal.reason });
      await run.exit;
      throw err;
    }
    const result = await run.exit;
    finished = true;
    if (opts.signal.aborted) throw new RepriseError('REPRISE_ABORTED', `${label} cancelled`, { cause: opts.signal.reason });
    if (result.code !== 0) throw failure(label, result, run.stderr());
  } finally {
    if (!finished) run.kill();
  }
}

/**
 * Spawns a tool, feeds `input` to its stdin and waits for it to exit. Resolves with its stderr
 * (warnings) on success; throws REPRISE_TOOL_FAILED with stderr on a non-zero exit,
 * REPRISE_TOOL_MISSING, REPRISE_ABORTED. Not idempotent (runs the tool).
 */
export async function runToolWithInput(
  command: string,
  args: readonly string[],
  input: ByteStream,
  opts: ToolOptions,
): Promise<{ stderr: string; bytes: number }> {
  const run = start(command, args, opts, 'pipe');
  const label = opts.label ?? command;
  let bytes = 0;
  const counted = async function* (): AsyncGenerator<Uint8Array> {
    for await (const chunk of input as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      yield chunk;
    }
  };
  const stdin = run.child.stdin;
  if (!stdin) throw new RepriseError('REPRISE_INTERNAL', `${label}: no stdin`);
  // Drain stdout so the tool never blocks on a full pipe.
  run.child.stdout?.resume();
  const feeding = pipeline(counted(), stdin).catch((err: unknown) => err);
  let result: { code: number | null; signal: NodeJS.Signals | null };
  try {
    result = await run.exit;
  } catch (err) {
    await feeding;
    throw err;
  }
  const feedError = await feeding;
  if (opts.signal.aborted) throw new RepriseError('REPRISE_ABORTED', `${label} cancelled`, { cause: opts.signal.reason });
  if (result.code !== 0) throw failure(label, result, run.stderr());
  // The tool exited 0 but we could not give it all the input: the input side failed (e.g. a bad chunk).
  if (feedError) {
    if (feedError instanceof RepriseError) throw feedError;
    const code = (feedError as NodeJS.ErrnoException).code;
    if (code !== 'EPIPE') throw new RepriseError('REPRISE_TOOL_FAILED', `${label}: input failed: ${String(feedError)}`, { cause: feedError });
  }
  return { stderr: run.stderr(), bytes };
}

/**
 * Runs a tool to completion and returns its stdout as text (for `--version` and small queries).
 * Throws REPRISE_TOOL_FAILED, REPRISE_TOOL_MISSING, REPRISE_ABORTED. Not idempotent in general.
 */
export async function runToolText(command: string, args: readonly string[], opts: ToolOptions): Promise<string> {
  const decoder = new TextDecoder();
  let out = '';
  for await (const chunk of toolOutput(command, args, opts)) out += decoder.decode(chunk, { stream: true });
  return out + decoder.decode();
}
