import type { FilesSourceConfig } from './files/schema.js';
import type { MysqlSourceConfig } from './mysql/schema.js';
import type { PostgresSourceConfig } from './postgres/schema.js';
import type { RedisSourceConfig } from './redis/schema.js';
import type { SqliteSourceConfig } from './sqlite/schema.js';
import { registerSource } from './registry.js';

// One line per plugin: the `type:` under `sources:` and how to load its factory. The config was
// validated against the same plugin's schema (config/schema.ts), hence the casts.
registerSource('files', async () => {
  const { createFilesSource } = await import('./files/index.js');
  return (name, config, baseDir) => createFilesSource(name, config as FilesSourceConfig, baseDir);
});
registerSource('postgres', async () => {
  const { createPostgresSource } = await import('./postgres/index.js');
  return (name, config) => createPostgresSource(name, config as PostgresSourceConfig);
});
const mysql = async () => {
  const { createMysqlSource } = await import('./mysql/index.js');
  return (name: string, config: unknown) => createMysqlSource(name, config as MysqlSourceConfig);
};
registerSource('mysql', mysql);
registerSource('mariadb', mysql);
registerSource('sqlite', async () => {
  const { createSqliteSource } = await import('./sqlite/index.js');
  return (name, config, baseDir) => createSqliteSource(name, config as SqliteSourceConfig, baseDir);
});
registerSource('redis', async () => {
  const { createRedisSource } = await import('./redis/index.js');
  return (name, config) => createRedisSource(name, config as RedisSourceConfig);
});

export { createSource } from './registry.js';
