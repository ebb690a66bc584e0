import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWorkspace, runCli, type Workspace } from '../helpers/cli.js';
import { startS3Server } from '../helpers/s3-server.js';
import { treeDigest } from '../helpers/source-roundtrip.js';
import { writeSampleTree } from '../helpers/tree.js';

describe('keys', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = makeWorkspace('sources:\n  site: { type: files, path: ./data }\n');
    writeSampleTree(path.join(ws.dir, 'data'), { files: 5, blobBytes: 4096 });
    expect((await ws.run('init')).code).toBe(0);
  });
  afterAll(() => ws.cleanup());

  it('several passwords open one repository; the last key cannot be removed', async () => {
    const added = await runCli(['-c', ws.config, 'key', 'add', '--json'], { env: { ...ws.env, REPRISE_NEW_PASSWORD: 'second password' } });
    expect(added.code, added.stderr).toBe(0);
    const withSecond = { TEST_REPRISE_PASSWORD: 'second password' };
    const list = await runCli(['-c', ws.config, 'key', 'list', '--json'], { env: withSecond });
    expect(list.code).toBe(0);
    expect(list.json).toHaveLength(2);
    const first = list.json.find((k: { current: boolean }) => !k.current);
    const removed = await runCli(['-c', ws.config, 'key', 'remove', first.id, '--json'], { env: withSecond });
    expect(removed.code, removed.stderr).toBe(0);
    expect((await ws.run('snapshots')).code).toBe(12); // the first password no longer opens it
    const last = list.json.find((k: { current: boolean }) => k.current);
    const refused = await runCli(['-c', ws.config, 'key', 'remove', last.id, '--json'], { env: withSecond });
    expect(refused.code).toBe(1);
    expect(refused.json.error.code).toBe('REPRISE_KEY_LAST');
  });
});

describe('copies', () => {
  it('backup copies to a local and an S3 destination; restoring from either copy gives the same content', async () => {
    const s3 = await startS3Server();
    const ws = makeWorkspace(
      `copies:
  - name: second
    url: ./copy-local
  - name: offsite
    url: s3://${s3.bucket}/reprise
    endpoint: ${s3.endpoint}
    region: us-east-1
    access_key_id: S3RVER
    secret_access_key: S3RVER
sources:
  site: { type: files, path: ./data }
`,
    );
    try {
      writeSampleTree(path.join(ws.dir, 'data'), { files: 10 });
      expect((await ws.run('init')).code).toBe(0);
      const backup = await ws.run('backup', '--json');
      expect(backup.code, backup.stderr + backup.stdout).toBe(0);
      expect(backup.json.snapshots[0].copies).toEqual(['second', 'offsite']);
      // Copying again uploads nothing new.
      const again = await ws.run('copy', '--to', 'offsite', '--json');
      expect(again.code, again.stderr).toBe(0);
      expect(again.json).toMatchObject({ snapshotsCopied: 0, chunksUploaded: 0 });

      for (const [name, repoLines] of [
        ['local', 'url: ./copy-local'],
        ['s3', `url: s3://${s3.bucket}/reprise\n  endpoint: ${s3.endpoint}\n  region: us-east-1\n  access_key_id: S3RVER\n  secret_access_key: S3RVER`],
      ] as const) {
        const configFile = path.join(ws.dir, `from-${name}.yaml`);
        writeFileSync(
          configFile,
          `version: 1\nrepository:\n  ${repoLines}\n  password: \${TEST_REPRISE_PASSWORD}\ncatalog: ./catalog.db\nsources:\n  site: { type: files, path: ./data }\n`,
        );
        const target = path.join(ws.dir, `restored-${name}`);
        const r = await runCli(['-c', configFile, 'restore', 'site', '--to', target], { cwd: ws.dir, env: ws.env });
        expect(r.code, r.stderr).toBe(0);
        expect(await treeDigest(target)).toEqual(await treeDigest(path.join(ws.dir, 'data')));
        const check = await runCli(['-c', configFile, 'check', '--read-data'], { cwd: ws.dir, env: ws.env });
        expect(check.code, check.stderr + check.stdout).toBe(0);
      }
      // Restoring from S3 kept the snapshot file (sealed) in REPRISE_CACHE_DIR, in a folder of the
      // S3 repository; the local copy needs no cache.
      const cache = path.join(ws.dir, 'cache');
      const repos = readdirSync(cache).filter((f) => f !== 'CACHEDIR.TAG');
      expect(repos).toHaveLength(1);
      expect(readdirSync(path.join(cache, repos[0] as string, 'snapshots'))).toEqual([backup.json.snapshots[0].snapshot]);
    } finally {
      ws.cleanup();
      await s3.stop();
    }
  });
});
