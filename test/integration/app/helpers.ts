import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Random suffix for keys, tables and folders, so test files can run in parallel. */
export function suffix(): string {
  return randomBytes(4).toString('hex');
}

/**
 * Compiles src/app and src/gate (and only what they import) to JavaScript for child processes,
 * inside node_modules so the packages resolve. Others' unfinished code cannot break it.
 */
export async function buildLib(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = path.join(ROOT, 'node_modules', '.cache', `reprise-app-test-${suffix()}`);
  const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
  await promisify(execFile)(
    tsc,
    ['--ignoreConfig', '--outDir', dir, '--rootDir', path.join(ROOT, 'src'), '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--skipLibCheck', '--types', 'node', path.join(ROOT, 'src/app/index.ts'), path.join(ROOT, 'src/gate/index.ts')],
    { cwd: ROOT },
  );
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Builds the library once for the calling test file and removes it after; returns its folder (valid in tests). */
export function useBuiltLib(): () => string {
  let lib: Awaited<ReturnType<typeof buildLib>> | undefined;
  beforeAll(async () => {
    lib = await buildLib();
  });
  afterAll(async () => {
    await lib?.cleanup();
  });
  return () => (lib as Awaited<ReturnType<typeof buildLib>>).dir;
}

export interface Spawned {
  proc: ChildProcess;
  port: number;
  output: () => string;
  kill: (signal?: NodeJS.Signals) => Promise<void>;
}

/** Starts `node script` and waits for it to print `listening PORT`. */
export function spawnNode(script: string, env: Record<string, string>, args: string[] = []): Promise<Spawned> {
  const proc = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return waitListening(proc);
}

/** Waits for a child to print `listening PORT` (or the Python http.server banner). */
export function waitListening(proc: ChildProcess, pattern = /listening (\d+)/): Promise<Spawned> {
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not start: ${out}`)), 15_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const match = pattern.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ proc, port: Number(match[1]), output: () => out, kill: (signal) => killChild(proc, signal) });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited with ${code}: ${out}`));
    });
  });
}

/** Kills one child by its own handle and waits for it to be gone. */
export function killChild(proc: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill(signal);
  });
}

/** Polls `fn` until it returns true; returns the elapsed milliseconds. */
export async function waitFor(fn: () => Promise<boolean> | boolean, timeoutMs = 5000, stepMs = 20): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await fn()) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A free TCP port on loopback (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

export interface TcpProxy {
  port: number;
  /** Simple-protocol queries ('Q' messages) seen from clients, when counting PostgreSQL. */
  queries: () => number;
  /** Accepts connections but forwards nothing (a silent network). */
  stall: (on: boolean) => void;
  /** Closes the listener and cuts every connection, like killing the process. */
  close: () => Promise<void>;
}

/**
 * A small TCP proxy on loopback that the test can kill, standing for "the database is down".
 * With `countPg`, it parses the PostgreSQL frontend stream to count queries.
 */
export function startTcpProxy(targetPort: number, options: { port?: number; countPg?: boolean } = {}): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let queries = 0;
  let stalled = false;
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (stalled) return;
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.pipe(client);
    if (!options.countPg) {
      client.pipe(upstream);
      return;
    }
    // Frontend messages: the startup message has no type byte; after it, type(1) + length(4).
    let buffered = Buffer.alloc(0);
    let started = false;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        if (!started) {
          if (buffered.length < 4) break;
          const len = buffered.readInt32BE(0);
          if (buffered.length < len) break;
          const code = buffered.readInt32BE(4);
          buffered = buffered.subarray(len);
          // SSLRequest / GSSENCRequest are followed by another startup message.
          if (code !== 80877103 && code !== 80877104) started = true;
          continue;
        }
        if (buffered.length < 5) break;
        const len = buffered.readInt32BE(1);
        if (buffered.length < len + 1) break;
        if (buffered[0] === 0x51 /* Q */ || buffered[0] === 0x50 /* P */) queries += 1;
        buffered = buffered.subarray(len + 1);
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        queries: () => queries,
        stall: (on) => {
          stalled = on;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** GET (or another method) returning status, headers and text; never throws on HTTP errors. */
export async function request(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, text: await response.text() };
}
