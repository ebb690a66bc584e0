'use strict';
// Runs s3rver in its own process for test/helpers/s3-server.ts. Started with
// --openssl-legacy-provider because s3rver encrypts list continuation tokens with DES, which
// OpenSSL 3 (Node >= 17) only offers through the legacy provider: without it every listing
// longer than 1000 keys fails with HTTP 500.
// argv: <directory> <bucket> <conditionalWrites: 0|1> [latencyMs: each request answered that much
// later, as over a WAN; benches only]. Prints {"port": N} on stdout when ready.
const S3rver = require('s3rver');

const [directory, bucket, conditional, latency = '0'] = process.argv.slice(2);

// If-None-Match: * on PUT, as AWS S3, MinIO and R2 honour it (s3rver ignores it and overwrites).
// Conditional PUTs of one key are serialised so of two racing writers exactly one finds it absent.
function ifNoneMatch(server) {
  const tails = new Map();
  return async (ctx, next) => {
    if (ctx.method !== 'PUT' || ctx.get('if-none-match') !== '*') return next();
    const [, b = '', ...rest] = ctx.path.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const id = `${b}/${key}`;
    const previous = tails.get(id) || Promise.resolve();
    let release;
    const mine = new Promise((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    tails.set(id, tail);
    await previous;
    try {
      if (await server.store.existsObject(b, key)) {
        ctx.status = 412;
        ctx.type = 'application/xml';
        ctx.body =
          '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>' +
          '<Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>';
        return;
      }
      await next();
    } finally {
      release();
      if (tails.get(id) === tail) tails.delete(id);
    }
  };
}

async function main() {
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: process.env.S3RVER_DEBUG !== '1',
    directory,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }],
  });
  if (conditional === '1') server.middleware.unshift(ifNoneMatch(server));
  const latencyMs = Number(latency);
  if (latencyMs > 0) server.middleware.unshift(async (_ctx, next) => new Promise((resolve) => setTimeout(resolve, latencyMs)).then(next));
  const address = await server.run();
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  // The parent going away (even by kill -9) closes stdin: do not outlive it.
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

main().catch((err) => {
  process.stderr.write(`s3rver failed to start: ${err && err.stack}\n`);
  process.exit(1);
});
