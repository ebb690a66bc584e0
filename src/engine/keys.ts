import type { KeyInfo } from '../repo/api.js';
import type { Runtime } from './runtime.js';
import { tracked } from './tracked.js';

/** Adds a key opened by `password`; the repository stays readable with the old ones. */
export async function addKey(runtime: Runtime, password: string): Promise<KeyInfo> {
  return tracked(runtime, { kind: 'key', subject: 'add' }, async () => (await runtime.openRepository()).addKey(password), (k) => ({ id: k.id }));
}

/** Keys of the repository, the current one flagged. Reads only. */
export async function listKeys(runtime: Runtime): Promise<KeyInfo[]> {
  return (await runtime.openRepository()).listKeys();
}

/** Removes a key. Throws REPRISE_KEY_LAST for the only key, REPRISE_KEY_NOT_FOUND. */
export async function removeKey(runtime: Runtime, id: string): Promise<{ removed: string }> {
  return tracked(
    runtime,
    { kind: 'key', subject: 'remove' },
    async () => {
      await (await runtime.openRepository()).removeKey(id);
      return { removed: id };
    },
    (r) => r,
  );
}

/** Removes locks whose holders stopped refreshing them. */
export async function unlockRepository(runtime: Runtime): Promise<{ removed: number }> {
  return { removed: await (await runtime.openRepository()).removeStaleLocks() };
}
