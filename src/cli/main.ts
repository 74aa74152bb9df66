#!/usr/bin/env -S node --max-semi-space-size=1
// The flag caps V8's young generation at 1 MB a semi-space: left alone it grows to 16 MB ones
// during start-up and keeps them, ~30 MB of an idle bridge's RSS (bench: "RSS idle"). A service
// that starts `node dist/cli/main.js` itself should pass it too (README, "Running as a service").
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { ConfigError } from '../core/errors.js';

/** The installed package's version (dist/cli/main.js and src/cli/main.ts both sit two levels down). */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const program = new Command();
program
  .name('qqbridge')
  .description('Bridge QQ groups to IRC, Matrix and Telegram')
  .version(packageVersion(), '-V, --version', 'print the version and exit')
  .showHelpAfterError();

program
  .command('check-config')
  .description('validate a config file and exit non-zero with the key and line of every problem')
  .requiredOption('-c, --config <file>', 'config file (YAML)')
  .action(async (opts: { config: string }) => {
    const { loadConfig } = await import('../config.js');
    loadConfig(opts.config, process.env, { checkFiles: true });
    process.stdout.write(`${opts.config}: OK\n`);
  });

program
  .command('run')
  .description('run the bridge')
  .requiredOption('-c, --config <file>', 'config file (YAML)')
  .option('--pretty', 'write log lines for a person at a terminal instead of JSON')
  .action(async (opts: { config: string; pretty?: boolean }) => {
    const { runBridgeFromConfig } = await import('./run.js');
    await runBridgeFromConfig(opts.config, { pretty: opts.pretty === true });
  });

program
  .command('status')
  .description('show queued and failed messages, links and the QQ session age, read from the store (the bridge may be running or not)')
  .requiredOption('-c, --config <file>', 'config file (YAML)')
  .action(async (opts: { config: string }) => {
    const { loadConfig } = await import('../config.js');
    const { readStatus, formatStatus } = await import('../ops/status.js');
    // Only the store is read: the passwords and tokens the bridge needs to run are not asked for.
    process.stdout.write(formatStatus(await readStatus(loadConfig(opts.config, process.env, { secretsUnused: true }))));
  });

program
  .command('generate-registration')
  .description('write a Matrix application-service registration (fresh tokens) for the config\'s matrix section')
  .requiredOption('-c, --config <file>', 'config file (YAML)')
  .requiredOption('-o, --output <file>', 'where to write the registration (mode 0600)')
  .option('--url <url>', 'URL the homeserver reaches the bridge at (default: http://<matrix.bindAddress>:<matrix.port>)')
  .action(async (opts: { config: string; output: string; url?: string }) => {
    const { loadConfig } = await import('../config.js');
    const { buildRegistration, writeRegistration } = await import('../connectors/matrix/registration.js');
    const config = loadConfig(opts.config);
    if (!config.matrix) throw new ConfigError(`${opts.config}: no matrix section: add matrix.homeserverUrl, matrix.domain and matrix.registration first`);
    const m = config.matrix;
    const reg = buildRegistration({
      id: 'qqbridge',
      url: opts.url ?? `http://${m.bindAddress}:${m.port}`,
      domain: m.domain,
      userPrefix: m.userPrefix,
      senderLocalpart: `${m.userPrefix}bot`,
    });
    writeRegistration(opts.output, reg);
    process.stdout.write(`wrote ${opts.output}; give it to the homeserver (app_service_config_files) and set matrix.registration to its path\n`);
  });

program
  .command('simulate')
  .description('run the WebQQ simulator (an HTTP server speaking the WebQQ protocol)')
  .option('-p, --port <n>', 'WebQQ port', '8700')
  .option('--control-port <n>', 'control API port', '8701')
  .option('--host <addr>', 'bind address', '127.0.0.1')
  .option('-w, --world <file>', 'world file (YAML or JSON); default: the captured seeds')
  .addOption(new Option('--hash-version <v>', 'list hash the server expects').choices(['P', 'O', 'Q', 'N']).default('P'))
  .option('--poll-hold-ms <n>', 'how long poll2 holds before answering 102', '30000')
  .action(async (opts: { port: string; controlPort: string; host: string; world?: string; hashVersion: 'P' | 'O' | 'Q' | 'N'; pollHoldMs: string }) => {
    const { startSimulator, loadWorld } = await import('../simulator/index.js');
    const { createLogger } = await import('../log.js');
    const log = createLogger();
    const sim = await startSimulator({
      host: opts.host,
      port: intOption('--port', opts.port),
      controlPort: intOption('--control-port', opts.controlPort),
      hashVersion: opts.hashVersion,
      pollHoldMs: intOption('--poll-hold-ms', opts.pollHoldMs),
      log,
      ...(opts.world ? { world: loadWorld(opts.world) } : {}),
    });
    process.stdout.write(`WebQQ simulator on ${sim.url} (control API ${sim.controlUrl})\n`);
    closeOnSignals(() => sim.close());
  });

program
  .command('simulate-milky')
  .description('run the Milky simulator (a Milky implementation: HTTP API, WebSocket/SSE events, webhooks)')
  .option('-p, --port <n>', 'API and event port', '3000')
  .option('--control-port <n>', 'control API port', '3001')
  .option('--host <addr>', 'bind address', '127.0.0.1')
  .option('-w, --world <file>', 'world file (YAML or JSON); default: the captured seeds')
  .option('--webhook <url...>', 'POST every event to these URLs too')
  .action(async (opts: { port: string; controlPort: string; host: string; world?: string; webhook?: string[] }) => {
    const { startMilkySimulator } = await import('../connectors/qq/milky/simulator/index.js');
    const { loadWorld } = await import('../simulator/world.js');
    // The token comes from the environment, never the command line (ps shows arguments).
    const token = process.env.MILKY_TOKEN || undefined;
    const sim = await startMilkySimulator({
      host: opts.host,
      port: intOption('--port', opts.port),
      controlPort: intOption('--control-port', opts.controlPort),
      ...(token ? { accessToken: token } : {}),
      ...(opts.webhook ? { webhooks: opts.webhook } : {}),
      ...(opts.world ? { world: loadWorld(opts.world) } : {}),
    });
    process.stdout.write(`Milky simulator on ${sim.url} (events at ${sim.url}/event, control API ${sim.controlUrl})${token ? ', token from MILKY_TOKEN' : ', no token'}\n`);
    closeOnSignals(() => sim.close());
  });

program
  .command('simulate-onebot')
  .description('run the OneBot v11 simulator (a WebSocket server, or a client of a reverse-mode bridge)')
  .option('-p, --port <n>', 'WebSocket and control API port (forward mode)', '3001')
  .option('--host <addr>', 'bind address', '127.0.0.1')
  .option('-w, --world <file>', 'world file (YAML or JSON); default: the captured seeds')
  .option('--token <token>', 'access token the simulator requires (default: $ONEBOT_TOKEN, else none)')
  .option('--reverse <url>', 'also connect to a reverse-mode bridge at this ws:// URL')
  .addOption(new Option('--format <f>', 'message format of events').choices(['array', 'string']).default('array'))
  .addOption(new Option('--token-refusal <how>', 'how a wrong token is refused').choices(['http', 'napcat']).default('http'))
  .option('--heartbeat-ms <n>', 'heartbeat interval', '30000')
  .action(async (opts: { port: string; host: string; world?: string; token?: string; reverse?: string; format: 'array' | 'string'; tokenRefusal: 'http' | 'napcat'; heartbeatMs: string }) => {
    const { OneBotSimulator } = await import('../connectors/qq/onebot/simulator/simulator.js');
    const { loadWorld } = await import('../simulator/world.js');
    const token = opts.token ?? process.env.ONEBOT_TOKEN;
    const sim = new OneBotSimulator({
      ...(opts.world ? { world: loadWorld(opts.world) } : {}),
      ...(token ? { accessToken: token } : {}),
      messageFormat: opts.format,
      tokenRefusal: opts.tokenRefusal,
      heartbeatIntervalMs: intOption('--heartbeat-ms', opts.heartbeatMs),
    });
    const url = await sim.listen(intOption('--port', opts.port), opts.host);
    if (opts.reverse) sim.connectReverse(opts.reverse, 3000);
    process.stdout.write(`OneBot v11 simulator on ${url} (control API ${sim.controlUrl()}/{inject,notice,drop,stall,fail,sends,violations})${opts.reverse ? `; connecting to ${opts.reverse}` : ''}\n`);
    closeOnSignals(() => sim.close());
  });

program
  .command('demo')
  .description('run everything on this machine: simulated QQ group <-> a real local IRC server, with a live view')
  .option('--irc-port <n>', 'port of the local IRC server', '6667')
  .option('--channel <name>', 'IRC channel', '#qqbridge-demo')
  .option('--duration <seconds>', 'stop after this many seconds (0 = run until Ctrl-C)', '0')
  .addOption(new Option('--qq <protocol>', 'the simulated QQ backend').choices(['webqq', 'onebot', 'milky']).default('webqq'))
  .action(async (opts: { ircPort: string; channel: string; duration: string; qq: 'webqq' | 'onebot' | 'milky' }) => {
    const { runDemo } = await import('./demo.js');
    await runDemo({ ircPort: intOption('--irc-port', opts.ircPort), channel: opts.channel, durationS: intOption('--duration', opts.duration), qq: opts.qq });
  });

function intOption(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name}: expected a whole number, got "${value}"`);
  return n;
}

program.parseAsync(process.argv).catch(async (err: unknown) => {
  // A config error lists every problem, one per line: each line says where it comes from.
  const { explainStartupFailure } = await import('./failure.js');
  const text = err instanceof ConfigError ? err.message : explainStartupFailure(err).line;
  for (const line of text.split('\n')) process.stderr.write(`qqbridge: ${line}\n`);
  if (/^(debug|trace)$/.test(process.env.QQBRIDGE_LOG_LEVEL ?? '') && err instanceof Error && err.stack) {
    process.stderr.write(`${err.stack}\n`);
  }
  process.exit(1);
});

/** A simulator started from the command line stops cleanly on Ctrl-C or a service stop. */
function closeOnSignals(close: () => Promise<unknown>): void {
  const stop = () => void close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
