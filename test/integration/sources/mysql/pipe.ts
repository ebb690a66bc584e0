import { createHash } from 'node:crypto';
import type { DumpPart, RestorePart } from '../../../../src/sources/source.js';

export interface PipeStats {
  /** sha256 of each part's bytes as they flowed from dump to restore. */
  sha256: Map<string, string>;
  bytes: number;
}

/**
 * Feeds a source's dump straight into a restore (what the engine does through the repository),
 * hashing each part on the way. A failing dump stream makes the restore fail too.
 */
export function pipeParts(dump: AsyncIterable<DumpPart>, stats: PipeStats = { sha256: new Map(), bytes: 0 }): AsyncIterable<RestorePart> {
  return (async function* () {
    for await (const part of dump) {
      const { open, ...meta } = part;
      if (!open) {
        yield meta;
        continue;
      }
      yield {
        ...meta,
        content: () =>
          (async function* () {
            const hash = createHash('sha256');
            for await (const chunk of open() as AsyncIterable<Uint8Array>) {
              hash.update(chunk);
              stats.bytes += chunk.length;
              yield chunk;
            }
            stats.sha256.set(part.name, hash.digest('hex'));
          })(),
      };
    }
  })();
}

/** Reads every part of a dump into memory (small test data only): name → bytes. */
export async function collectDump(dump: AsyncIterable<DumpPart>): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for await (const part of dump) {
    const chunks: Buffer[] = [];
    if (part.open) for await (const chunk of part.open() as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
    out.set(part.name, Buffer.concat(chunks));
  }
  return out;
}

/** RestoreParts that replay collected bytes. */
export function replay(parts: Map<string, Buffer>, extra: (name: string) => Record<string, unknown> = () => ({})): AsyncIterable<RestorePart> {
  return (async function* () {
    for (const [name, bytes] of parts) {
      yield {
        name,
        type: 'file' as const,
        extra: extra(name),
        content: () =>
          (async function* () {
            yield bytes;
          })(),
      };
    }
  })();
}
