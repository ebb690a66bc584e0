import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isRepriseError } from '../core/errors.js';
import { loadConfig, parseConfig } from './load.js';
import { redact } from './redact.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// The example as ../shared holds it (CI lays shared/ beside the project), else the copy committed
// for checkouts without it; the copy is checked against the original whenever both are there.
const sharedExample = path.resolve(here, '../../../shared/examples/reprise.yaml');
const exampleCopy = path.resolve(here, '../../test/fixtures/shared-example/reprise.yaml');
const example = existsSync(sharedExample) ? sharedExample : exampleCopy;
const exampleEnv = {
  REPRISE_PASSWORD: 'pw-secret',
  AWS_ACCESS_KEY_ID: 'AKIA',
  AWS_SECRET_ACCESS_KEY: 'aws-secret',
  SLACK_WEBHOOK: 'https://hooks.slack.test/xyz',
  SMTP_URL: 'smtp://user:smtp-pass@mail.test:587',
};

function errorOf(fn: () => unknown): Error & { code?: string; hint?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('configuration', () => {
  it.skipIf(!existsSync(sharedExample))('keeps its copy of the shared example identical to ../shared/examples/reprise.yaml', () => {
    expect(readFileSync(exampleCopy, 'utf8')).toBe(readFileSync(sharedExample, 'utf8'));
  });

  it('accepts the shared example as it stands', () => {
    const { config } = loadConfig({ file: example, env: exampleEnv });
    expect(Object.keys(config.sources)).toEqual(['app-db', 'cache', 'shop', 'questionnaires', 'uploads']);
    expect(config.defaults.objectives?.rpo).toBe(3_600_000);
    expect(config.repository.password).toBe('pw-secret');
    expect(config.checks.disk).toMatchObject({ type: 'disk', warn: 80, crit: 95 });
    expect(config.runbooks['db-lost']?.steps).toHaveLength(4);
  });

  it('names the missing environment variable with file and line', () => {
    const err = errorOf(() => loadConfig({ file: example, env: { ...exampleEnv, SLACK_WEBHOOK: undefined } }));
    expect(isRepriseError(err, 'REPRISE_CONFIG_ENV_MISSING')).toBe(true);
    expect(err.message).toMatch(/reprise\.yaml:\d+:\d+: notify\.0\.webhook: environment variable SLACK_WEBHOOK is not set/);
  });

  it('names file, line and field of a schema error', () => {
    const text = 'version: 1\nrepository:\n  url: ./r\nsources:\n  a:\n    type: files\n    path: /x\n    schedul: "0 * * * *"\n  b:\n    type: postgress\n    url: x\n';
    const err = errorOf(() => parseConfig(text, '/etc/reprise.yaml', {}));
    expect(isRepriseError(err, 'REPRISE_CONFIG_INVALID')).toBe(true);
    expect(err.message).toMatch(/\/etc\/reprise\.yaml:8:\d+: sources\.a: unknown key\(s\) "schedul"/);
    expect(err.message).toMatch(/\/etc\/reprise\.yaml:1[01]:\d+: sources\.b\.type/);
  });

  it('rejects a bad duration with the expected form', () => {
    const text = 'version: 1\nrepository: { url: ./r }\ndefaults:\n  objectives: { rpo: soon }\n';
    const err = errorOf(() => parseConfig(text, 'r.yaml', {}));
    expect(err.message).toMatch(/r\.yaml:4:\d+: defaults\.objectives\.rpo: expected a duration/);
  });

  it('reads *_file secrets', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reprise-cfg-'));
    writeFileSync(path.join(dir, 'pw'), 'from-file\n');
    writeFileSync(path.join(dir, 'reprise.yaml'), 'version: 1\nrepository:\n  url: ./r\n  password_file: pw\n');
    expect(loadConfig({ file: path.join(dir, 'reprise.yaml'), env: {} }).config.repository.password).toBe('from-file');
  });

  it('redacts secrets and URL passwords', () => {
    const { config } = loadConfig({ file: example, env: exampleEnv });
    const text = JSON.stringify(redact(config));
    for (const secret of ['pw-secret', 'aws-secret', 'xyz', 'smtp-pass']) expect(text).not.toContain(secret);
    expect(redact({ url: 'postgres://u:p4ss@h/db' }).url).toBe('postgres://u:***@h/db');
  });
});
