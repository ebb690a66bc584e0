import { describe, expect, it } from 'vitest';
import { assertToolFitsServer, formatMajor, parseToolVersion, serverMajor } from './tools.js';

describe('postgres client tool versions', () => {
  it('parses pg_dump --version output', () => {
    expect(parseToolVersion('pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n')).toEqual({ version: '15.20', major: 15 });
    expect(parseToolVersion('pg_restore (PostgreSQL) 9.6.24')).toEqual({ version: '9.6.24', major: 9.06 });
    expect(parseToolVersion('pg_dump (PostgreSQL) 17devel')).toEqual({ version: '17', major: 17 });
    expect(parseToolVersion('no version here')).toBeUndefined();
  });

  it('derives majors from server_version_num', () => {
    expect(serverMajor(150020)).toBe(15);
    expect(serverMajor(90624)).toBe(9.06);
    expect(formatMajor(9.06)).toBe('9.6');
    expect(formatMajor(16)).toBe('16');
  });

  it('refuses a pg_dump older than the server, naming the package', () => {
    const tool = { name: 'pg_dump' as const, path: '/usr/bin/pg_dump', version: '14.9', major: 14 };
    expect(() => assertToolFitsServer(tool, 140011)).not.toThrow();
    expect(() => assertToolFitsServer(tool, 130000)).not.toThrow();
    expect(() => assertToolFitsServer(tool, 160002)).toThrow(
      expect.objectContaining({ code: 'REPRISE_TOOL_TOO_OLD', hint: expect.stringContaining('postgresql-client-16') }),
    );
  });
});
