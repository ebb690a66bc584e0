import { requireTool, runToolText } from '../process.js';

const PACKAGE = 'mariadb-client';

/** The dump tool: mariadb-dump preferred, mysqldump otherwise. Throws REPRISE_TOOL_MISSING. Idempotent. */
export function findDumpTool(searchPath?: string): string {
  return requireTool(['mariadb-dump', 'mysqldump'], PACKAGE, searchPath);
}

/** The command-line client used for restores. Throws REPRISE_TOOL_MISSING. Idempotent. */
export function findClientTool(searchPath?: string): string {
  return requireTool(['mariadb', 'mysql'], PACKAGE, searchPath);
}

/**
 * The version line of a tool (`mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB…` → `10.11.19-MariaDB`).
 * Throws REPRISE_TOOL_FAILED / REPRISE_TOOL_MISSING. Idempotent.
 */
export async function toolVersion(tool: string, signal: AbortSignal): Promise<string> {
  const text = (await runToolText(tool, ['--version'], { signal })).trim();
  return /Distrib ([^\s,]+)/.exec(text)?.[1] ?? /Ver ([^\s,]+)/.exec(text)?.[1] ?? text;
}

/** Arguments that point a client or dump tool at a server; the password goes in MYSQL_PWD. */
export function connectionArgs(conn: { host: string; port: number; user: string }): string[] {
  // --protocol=TCP: "localhost" would otherwise mean the unix socket, not the configured port.
  return [`--host=${conn.host}`, `--port=${conn.port}`, `--user=${conn.user}`, '--protocol=TCP'];
}

/** Environment carrying the password, so that it never shows in `ps`. */
export function passwordEnv(password: string | undefined): Record<string, string> {
  return password === undefined ? {} : { MYSQL_PWD: password };
}
