import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { RepriseError } from '../../core/errors.js';
import { addKey, listKeys, removeKey, unlockRepository } from '../../engine/keys.js';
import { shortId, table, when } from '../output.js';
import { examplesHelp, exitCodesHelp } from '../help.js';
import { runWithRuntime } from '../run.js';

function newPassword(file: string | undefined): string {
  const password = file ? readFileSync(file, 'utf8').replace(/\r?\n$/, '') : process.env.REPRISE_NEW_PASSWORD;
  if (!password) {
    throw new RepriseError('REPRISE_USAGE', 'no new password given', {
      hint: 'Pass --new-password-file FILE or set REPRISE_NEW_PASSWORD (never on the command line).',
    });
  }
  return password;
}

export function registerKey(program: Command): void {
  const key = program.command('key').description('Manage the passwords that open the repository (several can open it)');
  const codes = exitCodesHelp(['OK', 'FAILURE', 'USAGE', 'REPO_MISSING', 'WRONG_PASSWORD']);
  key
    .command('add')
    .description('Add a key opened by a new password (from --new-password-file or REPRISE_NEW_PASSWORD)')
    .option('--new-password-file <file>', 'file holding the new password')
    .addHelpText('after', examplesHelp(['REPRISE_NEW_PASSWORD=… reprise key add']) + codes)
    .action(async (o: { newPasswordFile?: string }, command: Command) =>
      runWithRuntime(command, async (runtime) => {
        const info = await addKey(runtime, newPassword(o.newPasswordFile));
        return { json: info, text: [`added key ${shortId(info.id)}`] };
      }),
    );
  key
    .command('list')
    .description('List keys; * marks the one this password opened')
    .addHelpText('after', codes)
    .action(async (_o, command: Command) =>
      runWithRuntime(command, async (runtime) => {
        const keys = await listKeys(runtime);
        return { json: keys, text: table([' ', 'ID', 'CREATED', 'HOST'], keys.map((k) => [k.current ? '*' : ' ', shortId(k.id), when(k.created), k.host])) };
      }),
    );
  key
    .command('remove')
    .argument('<id>', 'key id (prefix)')
    .description('Remove a key; the last key cannot be removed')
    .addHelpText('after', codes)
    .action(async (id: string, _o, command: Command) =>
      runWithRuntime(command, async (runtime) => {
        const keys = await listKeys(runtime);
        const match = keys.filter((k) => k.id.startsWith(id));
        const target = match.length === 1 ? match[0]!.id : id;
        const r = await removeKey(runtime, target);
        return { json: r, text: [`removed key ${shortId(r.removed)}`] };
      }),
    );
  program
    .command('unlock')
    .description('Remove stale locks left by processes that died')
    .addHelpText('after', exitCodesHelp(['OK', 'REPO_MISSING', 'WRONG_PASSWORD']))
    .action(async (_o, command: Command) =>
      runWithRuntime(command, async (runtime) => {
        const r = await unlockRepository(runtime);
        return { json: r, text: [`removed ${r.removed} stale lock(s)`] };
      }),
    );
}
