import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { RepriseError } from '../../core/errors.js';
import { whichTool } from '../process.js';
import { runTool } from './run-tool.js';

export type PgToolName = 'pg_dump' | 'pg_dumpall' | 'pg_restore' | 'psql';

export interface PgTool {
  name: PgToolName;
  path: string;
  /** As printed, e.g. `15.20`. */
  version: string;
  /** Comparable major: 15 for 15.x, 9.06 for 9.6.x. */
  major: number;
}

/** The Debian/Ubuntu package that brings the client tools of a major version. Pure. */
export function clientPackage(major?: number): string {
  return major === undefined ? 'postgresql-client' : `postgresql-client-${formatMajor(major)}`;
}

/** `15` or `9.6`. Pure. */
export function formatMajor(major: number): string {
  if (major >= 10) return String(Math.floor(major));
  return `${Math.floor(major)}.${Math.round((major - Math.floor(major)) * 100)}`;
}

/** Major version from a `server_version_num` (150020 → 15, 90624 → 9.06). Pure. */
export function serverMajor(versionNum: number): number {
  return versionNum >= 100_000 ? Math.floor(versionNum / 10_000) : Math.floor(versionNum / 10_000) + (Math.floor(versionNum / 100) % 100) / 100;
}

/** Parses `pg_dump (PostgreSQL) 15.20 (Debian …)`; undefined when no version is found. Pure. */
export function parseToolVersion(text: string): { version: string; major: number } | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text) ?? /\b(\d+)\.(\d+)(?:\.(\d+))?\b/.exec(text);
  if (!match) return undefined;
  const first = Number(match[1]);
  const second = match[2] === undefined ? 0 : Number(match[2]);
  const version = [match[1], match[2], match[3]].filter((part) => part !== undefined).join('.');
  return { version, major: first >= 10 ? first : first + second / 100 };
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds `name` in `binDir` when given, else on PATH, and reads its version.
 * Throws REPRISE_TOOL_MISSING naming the package to install. Idempotent; writes nothing.
 */
export async function locateTool(
  name: PgToolName,
  options: { binDir: string | undefined; signal: AbortSignal },
): Promise<PgTool> {
  const path = options.binDir !== undefined ? join(options.binDir, name) : whichTool([name]);
  if (path === undefined || !(await isExecutable(path))) {
    const where = options.binDir !== undefined ? `in ${options.binDir}` : 'on PATH';
    throw new RepriseError('REPRISE_TOOL_MISSING', `${name} not found ${where}`, {
      hint: `Install the PostgreSQL client tools (Debian/Ubuntu: apt-get install ${clientPackage()}), or point bin_dir at the folder holding ${name}.`,
    });
  }
  const stdout = await runTool(path, ['--version'], { env: {}, signal: options.signal, password: undefined });
  const parsed = parseToolVersion(stdout);
  if (!parsed) {
    throw new RepriseError('REPRISE_TOOL_FAILED', `${path} --version printed no version: ${stdout.trim().slice(0, 200)}`, {
      hint: `Check that ${path} is the PostgreSQL ${name}.`,
    });
  }
  return { name, path, ...parsed };
}

/**
 * Throws REPRISE_TOOL_TOO_OLD when `tool` is of an older major version than the server: pg_dump
 * refuses (or silently misses features of) newer servers, so this is checked before any work. Pure.
 */
export function assertToolFitsServer(tool: PgTool, serverVersionNum: number): void {
  const server = serverMajor(serverVersionNum);
  if (tool.major >= server) return;
  const major = formatMajor(server);
  throw new RepriseError(
    'REPRISE_TOOL_TOO_OLD',
    `${tool.name} ${tool.version} (${tool.path}) is older than the PostgreSQL ${major} server it must read`,
    {
      hint: `Install ${clientPackage(server)} (Debian/Ubuntu, from apt.postgresql.org if your release lacks it) and set bin_dir: /usr/lib/postgresql/${major}/bin, or put its pg_dump first on PATH.`,
      details: { tool: tool.name, toolVersion: tool.version, serverMajor: major },
    },
  );
}
