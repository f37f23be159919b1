/**
 * `gflow console`: the studio's reports and runs in a web page, served
 * until Ctrl-C. Loopback only unless `--host` says otherwise; beyond
 * loopback, actions need the console token (`GFLOW_CONSOLE_TOKEN`) and
 * the console is read-only without one.
 */
import { Command } from 'commander';
import { parseWholeNumber } from '../../core/parse';
import { cliContext, lazyImport, print } from '../context';

export function consoleCommand(): Command {
  return new Command('console')
    .description("serve the console: the studio's reports, runs, reruns and retries in a web page")
    .option('--host <address>', 'address to listen on (beyond loopback, actions need GFLOW_CONSOLE_TOKEN)', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '8234')
    .addHelpText('after', `
Examples:
  $ gflow console                                   http://127.0.0.1:8234/ on this machine
  $ GFLOW_CONSOLE_TOKEN=$(openssl rand -hex 24) gflow console --host 0.0.0.0
  $ GFLOW_TEMPORAL_UI_URL=http://temporal.internal:8233 gflow console

Every page links to its workflows in the Temporal web UI (temporalUiUrl,
default http://127.0.0.1:8233). With a token, open the console as
http://<host>:<port>/#token=<token> once (kept for the browser tab), or
enter the token when an action asks for it.`)
    .action(async function (this: Command, options: { host: string; port: string }) {
      const { config, log } = cliContext(this);
      const port = parseWholeNumber(options.port, '--port', { min: 0, max: 65_535 });
      const running = await lazyImport('console/server').startConsole(config, { host: options.host, port });
      print(`Console: ${running.url} (${running.actions})`);
      print(`Temporal web UI: ${config.temporalUiUrl ?? 'http://127.0.0.1:8233'}; press Ctrl-C to stop.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await running.close();
      log.info('console stopped');
    });
}
