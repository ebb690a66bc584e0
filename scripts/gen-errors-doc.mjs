// Regenerates docs/errors.md from the registry in dist/core/errors.js (run after `npm run build`).
import { writeFileSync } from 'node:fs';
import { ERROR_CODES } from '../dist/core/errors.js';
import { EXIT } from '../dist/core/exit-codes.js';

const lines = [
  '# Errors and exit codes',
  '',
  'Every error Reprise reports on purpose has a code, a message and a hint. The CLI prints',
  '`error: <message>` and `hint: <hint>` on stderr; with `--json` it prints one object',
  '`{"error": {"code", "message", "hint", "exitCode"}}` on stdout. A test keeps this page and the',
  'registry in `src/core/errors.ts` in step.',
  '',
  '## Exit codes',
  '',
  '| code | name | meaning |',
  '| --- | --- | --- |',
  ...Object.entries(EXIT).map(([name, code]) => `| ${code} | ${name} | ${describeExit(name)} |`),
  '',
  '`reprise status` uses the monitoring-plugin convention instead (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), or the seeds\' scheme (0 OK, 1 critical, 2 warning) when configured.',
  '',
  '## Error codes',
  '',
  '| code | exit | meaning | hint |',
  '| --- | --- | --- | --- |',
  ...Object.entries(ERROR_CODES).map(([code, spec]) => `| \`${code}\` | ${spec.exit} | ${spec.summary} | ${spec.hint} |`),
  '',
];
writeFileSync(new URL('../docs/errors.md', import.meta.url), lines.join('\n'));

function describeExit(name) {
  return {
    OK: 'Success.',
    FAILURE: 'Failure with no more specific code.',
    USAGE: 'Bad command line or invalid configuration.',
    PARTIAL: 'Part of the work failed (e.g. one source of several).',
    REPO_MISSING: 'The repository does not exist or cannot be reached.',
    REPO_LOCKED: 'The repository is locked by another process.',
    WRONG_PASSWORD: 'No repository key opens with the password.',
    INTEGRITY: 'Stored data is damaged.',
    SOURCE: 'A source could not be read or dumped.',
    TARGET: 'The restore target refused (not empty without --force, unreachable).',
    STORAGE: 'The storage backend failed after retries.',
    CATALOG: 'The catalog could not be opened or written.',
    INTERRUPTED: 'Interrupted (Ctrl-C); nothing half-written was kept.',
  }[name] ?? '';
}
