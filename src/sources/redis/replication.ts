import { createWriteStream } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { finished } from 'node:stream/promises';
import { connect as tlsConnect } from 'node:tls';
import { RepriseError } from '../../core/errors.js';
import { describeRedis, type RedisConn } from './url.js';

/** RESP encoding of one command. */
function command(...args: string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
  return Buffer.from(parts.join(''));
}

/** Reads lines and raw bytes from a socket, in order, without losing what arrived early. */
class SocketReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private error: Error | undefined;
  private ended = false;

  constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('error', (err) => {
      this.error = err;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  private async more(): Promise<void> {
    if (this.error) throw this.error;
    if (this.ended) throw new Error('connection closed by the server');
    await new Promise<void>((resolve) => (this.waiting = resolve));
    if (this.error) throw this.error;
  }

  /** The next reply line without CRLF; skips the bare newlines a master sends as keepalives. */
  async line(): Promise<string> {
    for (;;) {
      while (this.buf[0] === 0x0a) this.buf = this.buf.subarray(1);
      const at = this.buf.indexOf('\r\n');
      if (at >= 0) {
        const text = this.buf.subarray(0, at).toString('utf8');
        this.buf = this.buf.subarray(at + 2);
        return text;
      }
      await this.more();
    }
  }

  /** Whatever is buffered now, or waits for data; null at the end of the stream. */
  async chunk(): Promise<Buffer | null> {
    while (this.buf.length === 0) {
      if (this.ended && !this.error) return null;
      await this.more();
    }
    const out = this.buf;
    this.buf = Buffer.alloc(0);
    return out;
  }
}

/**
 * Fetches a point-in-time RDB of the whole instance over the replication protocol (what
 * `redis-cli --rdb` does: REPLCONF capa eof, REPLCONF rdb-only, SYNC) into `file`. Handles both
 * the sized (disk-based) and the EOF-marked (diskless) transfer. Throws REPRISE_SOURCE_AUTH,
 * REPRISE_SOURCE_UNREADABLE, REPRISE_UNSUPPORTED (SYNC refused, e.g. a managed service),
 * REPRISE_ABORTED. Not idempotent (makes the server fork).
 */
export async function fetchRdb(conn: RedisConn, file: string, signal: AbortSignal): Promise<{ bytes: number }> {
  signal.throwIfAborted();
  const where = describeRedis(conn);
  const socket = conn.tls ? tlsConnect({ host: conn.host, port: conn.port, servername: conn.host }) : netConnect({ host: conn.host, port: conn.port });
  const onAbort = (): void => {
    socket.destroy(new RepriseError('REPRISE_ABORTED', 'Redis RDB transfer cancelled'));
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const reader = new SocketReader(socket);
  const out = createWriteStream(file, { mode: 0o600 });
  try {
    const expectOk = async (what: string, optional = false): Promise<void> => {
      const reply = await reader.line();
      if (reply.startsWith('-') && !optional) {
        if (/WRONGPASS|NOAUTH|invalid password|invalid username/i.test(reply)) {
          throw new RepriseError('REPRISE_SOURCE_AUTH', `${where}: ${reply.slice(1)}`, { hint: `Check the user and password for ${where}.` });
        }
        throw new RepriseError('REPRISE_UNSUPPORTED', `${where} refused ${what}: ${reply.slice(1)}`, {
          hint: 'This server does not allow replication (SYNC) for this user: use `method: scan`, or grant the user the replication commands.',
        });
      }
    };
    if (conn.password !== undefined) {
      socket.write(conn.username === undefined ? command('AUTH', conn.password) : command('AUTH', conn.username, conn.password));
      await expectOk('AUTH');
    }
    socket.write(command('REPLCONF', 'capa', 'eof'));
    await expectOk('REPLCONF capa eof', true);
    // Redis ≥ 7: no replication stream after the RDB. Older servers say no, which is fine.
    socket.write(command('REPLCONF', 'rdb-only', '1'));
    await expectOk('REPLCONF rdb-only', true);
    socket.write(command('SYNC'));
    const header = await reader.line();
    if (!header.startsWith('$')) {
      throw new RepriseError('REPRISE_UNSUPPORTED', `${where} refused SYNC: ${header.replace(/^-/, '')}`, {
        hint: 'This server does not allow replication (SYNC) for this user: use `method: scan`, or grant the user the replication commands.',
      });
    }
    let bytes = 0;
    const write = async (b: Buffer): Promise<void> => {
      bytes += b.length;
      if (!out.write(b)) await new Promise<void>((r) => out.once('drain', () => r()));
    };
    if (header.startsWith('$EOF:')) {
      const marker = Buffer.from(header.slice(5), 'latin1');
      // Hold back the last marker-length bytes: they may be the end marker.
      let tail = Buffer.alloc(0);
      for (;;) {
        const chunk = await reader.chunk();
        if (chunk === null) throw new Error('connection closed before the end of the RDB');
        tail = Buffer.concat([tail, chunk]);
        if (tail.length >= marker.length && tail.subarray(tail.length - marker.length).equals(marker)) {
          await write(tail.subarray(0, tail.length - marker.length));
          break;
        }
        if (tail.length > marker.length) {
          await write(tail.subarray(0, tail.length - marker.length));
          tail = tail.subarray(tail.length - marker.length);
        }
      }
    } else {
      let left = Number(header.slice(1));
      while (left > 0) {
        const chunk = await reader.chunk();
        if (chunk === null) throw new Error('connection closed before the end of the RDB');
        await write(chunk.subarray(0, Math.min(left, chunk.length)));
        left -= Math.min(left, chunk.length);
      }
    }
    out.end();
    await finished(out);
    return { bytes };
  } catch (err) {
    out.destroy();
    if (err instanceof RepriseError) throw err;
    if (signal.aborted) throw new RepriseError('REPRISE_ABORTED', 'Redis RDB transfer cancelled', { cause: err });
    throw new RepriseError('REPRISE_SOURCE_UNREADABLE', `${where}: RDB transfer failed: ${(err as Error).message}`, { cause: err });
  } finally {
    signal.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}
