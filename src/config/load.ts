import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { RepriseError } from '../core/errors.js';
import { configSchema, type Config } from './schema.js';

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file read. */
  file: string;
  /** Folder of the file: relative paths in the configuration are relative to it. */
  baseDir: string;
}

export interface LoadOptions {
  /** -c FILE; otherwise REPRISE_CONFIG, otherwise ./reprise.yaml. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Which file the command should read, by the documented order: -c, REPRISE_CONFIG, ./reprise.yaml. */
export function resolveConfigPath(options: LoadOptions = {}): string {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  return path.resolve(cwd, options.file ?? env.REPRISE_CONFIG ?? 'reprise.yaml');
}

/**
 * Reads, interpolates and validates the configuration.
 * Throws REPRISE_CONFIG_NOT_FOUND, REPRISE_CONFIG_INVALID (naming file, line and field),
 * REPRISE_CONFIG_ENV_MISSING or REPRISE_SECRET_FILE_UNREADABLE. Reads only; idempotent.
 */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const file = resolveConfigPath(options);
  if (!existsSync(file)) {
    throw new RepriseError('REPRISE_CONFIG_NOT_FOUND', `configuration file not found: ${file}`);
  }
  return parseConfig(readFileSync(file, 'utf8'), file, options.env ?? process.env);
}

/** Validates configuration text as if read from `file`. Throws as loadConfig does. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const where = (node: Node | undefined | null): string => {
    const offset = node?.range?.[0];
    if (offset === undefined) return file;
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const { line, col } = lineCounter.linePos(first.pos[0]);
    throw new RepriseError('REPRISE_CONFIG_INVALID', `${file}:${line}:${col}: YAML syntax error: ${first.message.split('\n')[0]}`, {
      hint: 'Fix the YAML syntax at that line (indentation, quotes, colons).',
    });
  }
  const baseDir = path.dirname(file);
  interpolate(doc, doc.contents, [], env, baseDir, where);
  const raw: unknown = doc.toJS() ?? {};
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new RepriseError('REPRISE_CONFIG_INVALID', describeIssues(result.error.issues, doc, where), {
      details: { issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  return { config: result.data, file, baseDir };
}

function describeIssues(issues: z.core.$ZodIssue[], doc: Document, where: (node: Node | undefined) => string): string {
  const lines = issues.slice(0, 10).map((issue) => {
    const fieldPath = issue.path.map(String);
    // Point at the offending key itself rather than at the object that holds it.
    const lookup = issue.code === 'unrecognized_keys' && issue.keys[0] ? [...fieldPath, issue.keys[0]] : fieldPath;
    const node = nearestNode(doc, lookup);
    const field = fieldPath.join('.') || '(top level)';
    return `${where(node)}: ${field}: ${explain(issue)}`;
  });
  if (issues.length > 10) lines.push(`… and ${issues.length - 10} more`);
  return `invalid configuration:\n  ${lines.join('\n  ')}`;
}

function explain(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling against docs/configuration.md`;
  if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
    return `${issue.message}`;
  }
  if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) return `required key is missing (expected ${issue.expected})`;
  return issue.message;
}

/** The YAML node at `fieldPath`, or the closest ancestor that exists (for missing keys). */
function nearestNode(doc: Document, fieldPath: string[]): Node | undefined {
  for (let n = fieldPath.length; n >= 0; n--) {
    const node = doc.getIn(fieldPath.slice(0, n).map((p) => (/^\d+$/.test(p) ? Number(p) : p)), true) as Node | undefined;
    if (node && typeof node === 'object' && 'range' in node) return node;
  }
  return undefined;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` (and `${VAR:-default}`) in every scalar string, and turns `key_file: PATH`
 * into `key: <file content>` when `key` itself is absent.
 */
function interpolate(
  doc: Document,
  node: unknown,
  fieldPath: string[],
  env: NodeJS.ProcessEnv,
  baseDir: string,
  where: (node: Node | undefined) => string,
): void {
  if (isScalar(node)) {
    if (typeof node.value === 'string' && node.value.includes('${')) {
      node.value = node.value.replace(ENV_REF, (_match, name: string, fallback: string | undefined) => {
        const value = env[name];
        if (value !== undefined && value !== '') return value;
        if (fallback !== undefined) return fallback;
        throw new RepriseError(
          'REPRISE_CONFIG_ENV_MISSING',
          `${where(node)}: ${fieldPath.join('.')}: environment variable ${name} is not set`,
          { hint: `Export ${name} before running reprise, or write the value (or a *_file path) in the file.` },
        );
      });
    }
    return;
  }
  if (isSeq(node)) {
    node.items.forEach((item, index) => interpolate(doc, item, [...fieldPath, String(index)], env, baseDir, where));
    return;
  }
  if (!isMap(node)) return;
  for (const pair of [...node.items]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    interpolate(doc, pair.value, [...fieldPath, key], env, baseDir, where);
    if (key.endsWith('_file') && isScalar(pair.value) && typeof pair.value.value === 'string') {
      const target = key.slice(0, -'_file'.length);
      if (node.has(target)) continue;
      const secretPath = path.resolve(baseDir, pair.value.value);
      let secret: string;
      try {
        secret = readFileSync(secretPath, 'utf8').replace(/\r?\n$/, '');
      } catch (cause) {
        throw new RepriseError(
          'REPRISE_SECRET_FILE_UNREADABLE',
          `${where(pair.value as Node)}: ${[...fieldPath, key].join('.')}: cannot read ${secretPath}`,
          { cause },
        );
      }
      node.delete(pair.key);
      node.set(target, secret);
    }
  }
}
