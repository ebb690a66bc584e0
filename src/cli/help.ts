import { EXIT } from '../core/exit-codes.js';

const MEANING: Record<keyof typeof EXIT, string> = {
  OK: 'success',
  FAILURE: 'failure with no more specific code',
  USAGE: 'bad arguments or invalid configuration',
  PARTIAL: 'part of the work failed (see the output)',
  REPO_MISSING: 'repository not found',
  REPO_LOCKED: 'repository locked by another process',
  WRONG_PASSWORD: 'wrong repository password',
  INTEGRITY: 'damaged data found',
  SOURCE: 'a source could not be read or dumped',
  TARGET: 'restore target refused (not empty without --force, unreachable)',
  STORAGE: 'storage backend failure',
  CATALOG: 'catalog unavailable',
  INTERRUPTED: 'interrupted (Ctrl-C); nothing half-written kept',
};

/** The "Exit codes:" section of a command's --help, for the codes it can return. */
export function exitCodesHelp(names: Array<keyof typeof EXIT>): string {
  const lines = names.map((name) => `  ${String(EXIT[name]).padStart(3)}  ${MEANING[name]}`);
  return `\nExit codes:\n${lines.join('\n')}\n\nAll error codes: docs/errors.md`;
}

/** "Examples:" section. */
export function examplesHelp(examples: string[]): string {
  return `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`;
}
