import type { FilesSourceConfig } from './files/schema.js';
import type { MysqlSourceConfig } from './mysql/schema.js';
import type { PostgresSourceConfig } from './postgres/schema.js';
import type { SqliteSourceConfig } from './sqlite/schema.js';
import type { RedisSourceConfig } from './redis/schema.js';
import { createFilesSource } from './files/index.js';
import { createMysqlSource } from './mysql/index.js';
import { createPostgresSource } from './postgres/index.js';
import { createSqliteSource } from './sqlite/index.js';
import { createRedisSource } from './redis/index.js';
import { registerSource } from './registry.js';

// One line per plugin: the `type:` under `sources:` and its factory. The config was validated
// against the same plugin's schema (config/schema.ts), hence the casts.
registerSource('files', (name, config, baseDir) => createFilesSource(name, config as FilesSourceConfig, baseDir));
registerSource('postgres', (name, config) => createPostgresSource(name, config as PostgresSourceConfig));
registerSource('mysql', (name, config) => createMysqlSource(name, config as MysqlSourceConfig));
registerSource('mariadb', (name, config) => createMysqlSource(name, config as MysqlSourceConfig));
registerSource('sqlite', (name, config, baseDir) => createSqliteSource(name, config as SqliteSourceConfig, baseDir));
registerSource('redis', (name, config) => createRedisSource(name, config as RedisSourceConfig));

export { createSource } from './registry.js';
