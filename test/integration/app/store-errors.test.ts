import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRepriseError } from '../../../src/core/errors.js';
import { enableKillswitch, killswitchStatus } from '../../../src/killswitch/api.js';
import { ModeTracker } from '../../../src/killswitch/mode-tracker.js';
import { openModeStore } from '../../../src/killswitch/open-store.js';
import { freePort, waitFor } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'reprise-store-err-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('store errors', () => {
  it.each(['redis', 'postgres'])('%s: an unreachable store fails with REPRISE_KILLSWITCH_STORE naming the cause, within the timeout', async (kind) => {
    const port = await freePort();
    const url = kind === 'redis' ? `redis://127.0.0.1:${port}/0` : `postgres://postgres@127.0.0.1:${port}/postgres`;
    const store = await openModeStore(url, dir, { timeoutMs: 700 });
    try {
      const start = performance.now();
      const err = await killswitchStatus(store).catch((e: unknown) => e);
      expect(performance.now() - start).toBeLessThan(1500);
      expect(isRepriseError(err, 'REPRISE_KILLSWITCH_STORE')).toBe(true);
      expect((err as Error).message).toMatch(/ECONNREFUSED/);
      await expect(enableKillswitch(store, { mode: 'maintenance', reason: 'x', by: 't' })).rejects.toMatchObject({ code: 'REPRISE_KILLSWITCH_STORE' });
    } finally {
      await store.close();
    }
  });

  it('a corrupt file store keeps the last known mode and reports the store degraded', async () => {
    const file = path.join(dir, 'ks.json');
    const store = await openModeStore(file, dir);
    await enableKillswitch(store, { mode: 'read_only', reason: 'x', by: 't' });
    const tracker = new ModeTracker(store, { pollMs: 100 });
    await tracker.start();
    try {
      expect(tracker.current.mode).toBe('read_only');
      await writeFile(file, '{"mode": "wide-open"');
      await waitFor(() => tracker.storeHealth().status === 'degraded', 3000, 20);
      expect(tracker.current.mode).toBe('read_only');
      await enableKillswitch(store, { mode: 'maintenance', reason: 'y', by: 't' });
      await waitFor(() => tracker.current.mode === 'maintenance', 3000, 20);
      expect(tracker.storeHealth().status).toBe('ok');
    } finally {
      tracker.stop();
      await store.close();
    }
  });

  it('refuses an unknown store scheme', async () => {
    await expect(openModeStore('mongodb://x', dir)).rejects.toMatchObject({ code: 'REPRISE_CONFIG_INVALID' });
  });
});
