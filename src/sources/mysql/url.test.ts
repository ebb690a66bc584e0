import { describe, expect, it } from 'vitest';
import { isRepriseError } from '../../core/errors.js';
import { dumpArgs } from './dump.js';
import { describeMysql, parseMysqlUrl, quoteIdent } from './url.js';

describe('mysql url', () => {
  it('parses user, password, host, port and database', () => {
    expect(parseMysqlUrl('mysql://app:s%40cret@db.local:3307/shop')).toEqual({
      host: 'db.local',
      port: 3307,
      user: 'app',
      password: 's@cret',
      database: 'shop',
    });
    expect(parseMysqlUrl('mysql://app@db/', 'over').password).toBe('over');
    expect(parseMysqlUrl('mariadb://db').database).toBeUndefined();
  });

  it('rejects other schemes and garbage with REPRISE_CONFIG_INVALID, without echoing the password', () => {
    expect(() => parseMysqlUrl('postgres://a@b/c')).toThrow(/mysql:\/\//);
    try {
      parseMysqlUrl('mysql://u:hunter2@[bad');
    } catch (err) {
      expect(isRepriseError(err, 'REPRISE_CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('describes without the password and quotes identifiers', () => {
    expect(describeMysql(parseMysqlUrl('mysql://u:pw@h:1/d'))).toBe('mysql://u@h:1/d');
    expect(quoteIdent('a`b')).toBe('`a``b`');
  });

  it('never puts the password on the dump command line; applies exclusions per database', () => {
    const conn = parseMysqlUrl('mysql://u:topsecret@h:3306/shop');
    const args = dumpArgs({ tool: 'mariadb-dump', conn, databases: ['shop'], excludeTables: ['shop.logs', 'sessions', 'other.x'] }, 'shop');
    expect(args.join(' ')).not.toContain('topsecret');
    expect(args).toContain('--single-transaction');
    expect(args).toContain('--ignore-table=shop.logs');
    expect(args).toContain('--ignore-table=shop.sessions');
    expect(args).not.toContain('--ignore-table=other.x');
    expect(args.at(-1)).toBe('shop');
  });
});
