import type { Command } from 'commander';
import { parseListen } from '../../gate/listen-address.js';
import { openModeStore } from '../../killswitch/open-store.js';
import { examplesHelp, exitCodesHelp } from '../help.js';
import { runWithRuntime } from '../run.js';

interface GateCommandOptions {
  listen: string;
  upstream: string;
  healthUrl?: string;
}

export function registerGate(program: Command): void {
  program
    .command('gate')
    .description('Reverse proxy in front of an application in any language: applies the killswitch modes, serves the maintenance page when the upstream is down')
    .requiredOption('--listen <host:port>', 'address to listen on, e.g. 0.0.0.0:8080')
    .requiredOption('--upstream <url>', 'the application, e.g. http://127.0.0.1:3000')
    .option('--health-url <url>', "the upstream's health URL, polled every second (5xx or no answer → maintenance page)")
    .addHelpText(
      'after',
      examplesHelp(['reprise gate --listen 0.0.0.0:8080 --upstream http://127.0.0.1:3000 --health-url http://127.0.0.1:3000/health']) +
        '\nThe gate answers /health and /ready itself. Stop it with SIGTERM or Ctrl-C: /ready turns 503, then it drains.\n' +
        exitCodesHelp(['OK', 'FAILURE', 'USAGE']),
    )
    .action(async (options: GateCommandOptions, command: Command) =>
      runWithRuntime(command, async (runtime) => {
        const listen = parseListen(options.listen);
        const section = runtime.config.killswitch;
        const store = await openModeStore(section?.store ?? '.reprise/killswitch.json', runtime.loaded.baseDir, { key: section?.key });
        try {
          // Imported on demand: the proxy libraries are needed by this command only.
          const { startGate } = await import('../../gate/gate.js');
          const gate = await startGate({
            listen,
            upstream: options.upstream,
            healthUrl: options.healthUrl,
            store,
            signal: runtime.signal,
            killswitch: {
              ...(section?.message !== undefined ? { message: section.message } : {}),
              ...(section?.bypass_token !== undefined ? { bypassToken: section.bypass_token } : {}),
              ...(section?.retry_after !== undefined ? { retryAfter: Math.round(section.retry_after / 1000) } : {}),
              ...(section?.rate_limit !== undefined ? { rateLimit: { requests: section.rate_limit.requests, perMs: section.rate_limit.per } } : {}),
            },
          });
          process.stderr.write(`reprise gate: listening on http://${gate.address.host}:${gate.address.port} → ${options.upstream} (killswitch store ${store.description})\n`);
          await gate.closed;
          return { json: { stopped: true, listen: gate.address, upstream: options.upstream }, text: ['gate stopped'] };
        } finally {
          await store.close();
        }
      }),
    );
}
