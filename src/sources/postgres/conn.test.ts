import { describe, expect, it } from 'vitest';
import { describeConn, parsePgUrl, redactSecret, toolEnv, withDatabase } from './conn.js';

describe('postgres connection URLs', () => {
  it('keeps the password out of the URL and decodes names', () => {
    const conn = parsePgUrl('postgres://app:p%40ss@db.local:6543/caf%C3%A9?sslmode=require');
    expect(conn.password).toBe('p@ss');
    expect(conn.url).toBe('postgres://app@db.local:6543/caf%C3%A9?sslmode=require');
    expect(conn).toMatchObject({ user: 'app', host: 'db.local', port: '6543', database: 'café' });
    expect(describeConn(conn)).toBe('postgres://db.local:6543/caf%C3%A9?sslmode=require');
  });

  it('takes a separate password only when the URL has none, and defaults the port', () => {
    expect(parsePgUrl('postgres://u@h/d', 'x').password).toBe('x');
    expect(parsePgUrl('postgres://u:y@h/d', 'x').password).toBe('y');
    expect(parsePgUrl('postgresql://u@h').port).toBe('5432');
    expect(parsePgUrl('postgresql://u@h').database).toBeUndefined();
  });

  it('rejects what is not a postgres URL without echoing the password', () => {
    expect(() => parsePgUrl('mysql://u:topsecret@h/d')).toThrow(/not a postgres URL: mysql:\/\/u:\*\*\*@h\/d/);
    expect(() => parsePgUrl('not a url')).toThrow(expect.objectContaining({ code: 'REPRISE_CONFIG_INVALID' }));
  });

  it('switches database with encoding', () => {
    const conn = withDatabase(parsePgUrl('postgres://u:pw@h:5432/a'), 'b/ü');
    expect(conn.url).toBe('postgres://u@h:5432/b%2F%C3%BC');
    expect(conn.database).toBe('b/ü');
    expect(conn.password).toBe('pw');
  });

  it('passes the password by PGPASSWORD only', () => {
    expect(toolEnv(parsePgUrl('postgres://u:pw@h/d'))).toMatchObject({ PGPASSWORD: 'pw' });
    expect(toolEnv(parsePgUrl('postgres://u@h/d'))['PGPASSWORD']).toBeUndefined();
  });

  it('scrubs the password from tool output', () => {
    expect(redactSecret('FATAL for postgres://u:pw1@h/d using pw1', 'pw1')).toBe('FATAL for postgres://u:***@h/d using ***');
  });
});
