// Post-build step: makes dist/bin/reprise.js (the bundled CLI) and dist/cli/main.js start node with
// the runtime settings that keep a backup's memory flat (see docs/benchmarks.md, "Memory"): glibc's
// mmap threshold, so that freed buffers of 256 KiB and more go back to the system instead of
// staying in malloc's arenas, and a 1 MiB V8 young generation. Both must be set before node starts.
// `check` goes without them: it reads packs through fixed 1 MiB windows and peaks at ~185 MiB
// without them, and each cost it ~0.07 s (1.42–1.49 s against 1.59–1.65 s on the files bench).
// It asks glibc instead (GLIBC_TUNABLES, unless set) for transparent huge pages on what malloc maps
// (scrypt's 32 MiB and the blob-sized scratch buffers: 512 times fewer page faults on them) and
// to keep up to 8 MiB of freed memory (the decipher allocates twice per 64 KiB it decrypts):
// 35–39k page faults instead of 51–67k, and a 10% shorter check (1.92 s against 2.18 s, medians
// of five alternating runs, files bench).
// `restore` also keeps up to 4 MiB of freed memory per malloc arena (two arenas): the 64 KiB
// pieces the decipher returns are otherwise given back to the system at every collection and
// faulted in again; that halves its page faults (155k → 65–80k on the files bench) at the same
// peak RSS. The backup does not: its arenas then grew past the 256 MiB budget (250–283 MiB).
// The header is a shell/JS polyglot, as `env -S` in a shebang is missing from busybox (Alpine
// images) and old coreutils: /bin/sh runs the second line (the command is the first argument that
// is neither an option nor the value of -c/--config); node sees a string statement and a comment.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';

const header = [
  '#!/bin/sh',
  [
    '":" //;',
    'cmd=; value=; for a; do if [ -n "$value" ]; then value=; continue; fi; case $a in -c|--config) value=1;; -*) ;; *) cmd=$a; break;; esac; done;',
    'case $cmd in check) exec env GLIBC_TUNABLES="${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1:glibc.malloc.trim_threshold=8388608}" node "$0" "$@";;',
    'restore) exec env MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-262144}" MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-4194304}" MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" node --max-semi-space-size=1 "$0" "$@";; esac;',
    'exec env MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-262144}" node --max-semi-space-size=1 "$0" "$@"',
  ].join(' '),
];
for (const path of ['../dist/bin/reprise.js', '../dist/cli/main.js']) {
  const file = new URL(path, import.meta.url);
  const lines = readFileSync(file, 'utf8').split('\n');
  const body = lines[0]?.startsWith('#!') ? lines.slice(lines[1]?.startsWith('":" //;') ? 2 : 1) : lines;
  writeFileSync(file, [...header, ...body].join('\n'));
  chmodSync(file, 0o755);
}
