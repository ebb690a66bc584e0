import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI (npm test builds before running vitest). */
export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/bin/reprise.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is JSON. */
  json: any;
}

/** Runs `reprise args…` as a child process and collects its output. Never throws. */
export function runCli(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: { ...process.env, REPRISE_CONFIG: undefined, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, stdout, stderr, json });
    });
  });
}

/** Starts `reprise args…` and returns the child (for kill -9 tests). */
export function spawnCli(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
  return spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, REPRISE_CONFIG: undefined, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface Workspace {
  dir: string;
  config: string;
  env: Record<string, string>;
  run(...args: string[]): Promise<CliResult>;
  cleanup(): void;
}

/** A temp folder with a reprise.yaml (the given YAML body after `version`/`repository`/`catalog`). */
export function makeWorkspace(body: string, options: { password?: string; repository?: string } = {}): Workspace {
  const dir = mkdtempSync(path.join(tmpdir(), 'reprise-e2e-'));
  const config = path.join(dir, 'reprise.yaml');
  writeFileSync(
    config,
    `version: 1\nrepository:\n  url: ${options.repository ?? './repo'}\n  password: \${TEST_REPRISE_PASSWORD}\ncatalog: ./catalog.db\n${body}`,
  );
  // The cache of remote repositories stays in the workspace, not in the home folder.
  const env = { TEST_REPRISE_PASSWORD: options.password ?? 'correct horse battery staple', REPRISE_CACHE_DIR: path.join(dir, 'cache') };
  return {
    dir,
    config,
    env,
    run: (...args: string[]) => runCli(['-c', config, ...args], { cwd: dir, env }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
