// Generates a mixed tree of about `totalMiB` (default 1024): text and logs, compressible
// binaries, incompressible blobs, and many small files. Deterministic from a seed, so two runs
// produce the same data.
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Pseudo-random bytes from a seed (AES-CTR keystream: fast and reproducible). */
export function seededBytes(seed, length) {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return cipher.update(Buffer.alloc(length));
}

const WORDS = 'reservation client paiement facture chambre annulation confirmation utilisateur session erreur requete base donnees cache serveur'.split(' ');

function textBlock(seed, bytes) {
  const rnd = seededBytes(seed, Math.ceil(bytes / 6) + 16);
  const parts = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `2026-11-${String((rnd[i % rnd.length] % 28) + 1).padStart(2, '0')}T${String(rnd[(i + 1) % rnd.length] % 24).padStart(2, '0')}:${String(rnd[(i + 2) % rnd.length] % 60).padStart(2, '0')} ${WORDS[rnd[(i + 3) % rnd.length] % WORDS.length]} id=${rnd.readUInt32LE((i * 4) % (rnd.length - 4))} ${WORDS[rnd[(i + 5) % rnd.length] % WORDS.length]} ok\n`;
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

function compressibleBinary(seed, bytes) {
  // Records of 64 bytes: mostly fixed fields and small counters, some random bytes: zstd gets ~3-4x.
  const out = Buffer.alloc(bytes);
  const rnd = seededBytes(seed, Math.ceil(bytes / 8));
  for (let off = 0, r = 0; off + 64 <= bytes; off += 64, r += 8) {
    out.write('RECORD', off);
    out.writeUInt32LE(off / 64, off + 8);
    rnd.copy(out, off + 16, r, r + 8);
    out.fill(0x20, off + 24, off + 64);
  }
  return out;
}

/**
 * Writes the tree under dir; returns {files, bytes}. A tree of the same size already there is
 * rewritten in place rather than deleted and made anew: deleting 20,000 files makes ext4 skip
 * their inodes as "recently deleted" for the next minutes, which slows down every file the
 * timed restores then create, by a different amount from run to run.
 */
export function generateTree(dir, totalMiB = 1024) {
  // Beside the tree, not in it (it would be backed up).
  const marker = path.join(path.dirname(dir), `.${path.basename(dir)}-generated-${totalMiB}`);
  if (!existsSync(marker)) rmSync(dir, { recursive: true, force: true });
  // Until it is complete, no marker says what the tree is.
  const markerPrefix = `.${path.basename(dir)}-generated-`;
  mkdirSync(path.dirname(dir), { recursive: true });
  for (const name of readdirSync(path.dirname(dir))) if (name.startsWith(markerPrefix)) rmSync(path.join(path.dirname(dir), name));
  const MiB = 1024 * 1024;
  const scale = totalMiB / 1024;
  let files = 0;
  let bytes = 0;
  const write = (rel, data) => {
    const p = path.join(dir, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, data);
    files++;
    bytes += data.length;
  };
  // ~300 MiB of text in 600 files of ~512 KiB (logs, exports).
  for (let i = 0; i < Math.round(600 * scale); i++) write(`text/dir${i % 20}/log-${i}.txt`, textBlock(`text${i}`, 512 * 1024));
  // ~250 MiB of compressible binaries in 50 files of 5 MiB.
  for (let i = 0; i < Math.round(50 * scale); i++) write(`bin/data-${i}.dat`, compressibleBinary(`bin${i}`, 5 * MiB));
  // ~370 MiB of incompressible blobs (photos, archives) in 74 files of 5 MiB.
  for (let i = 0; i < Math.round(74 * scale); i++) write(`media/img-${i}.jpg`, seededBytes(`blob${i}`, 5 * MiB));
  // ~100 MiB in 20,000 small files of ~5 KiB.
  for (let i = 0; i < Math.round(20000 * scale); i++) {
    write(`small/s${i % 100}/f-${i}.json`, i % 2 ? textBlock(`small${i}`, 5 * 1024) : seededBytes(`small${i}`, 5 * 1024));
  }
  writeFileSync(marker, '');
  return { files, bytes };
}
