import { loadConfig, ConfigError, type Config } from '../config/index.js';
import type { DestinationStream } from 'pino';
import { createLogger, type Logger } from './logger.js';
import { openRuntime, type Runtime } from './runtime.js';

type Stopper = (graceMs: number) => Promise<void>;

/**
 * Loads the configuration and the runtime, starts what `start` returns, and stops it all on
 * SIGTERM or SIGINT: the parts in order (HTTP first, then workers), then the connections.
 * A bad configuration or an unreachable database ends the process with a clear message.
 */
export async function runProcess(
  name: string,
  start: (runtime: Runtime) => Promise<Stopper[]>,
  /** The environment to configure from. Default: process.env */
  env?: Record<string, string | undefined>,
  /** Where the log goes. Default: stdout, written asynchronously */
  logDestination?: DestinationStream,
): Promise<void> {
  let config: Config;
  let notices: string[];
  try {
    ({ config, notices } = loadConfig(env));
  } catch (error) {
    process.stderr.write(
      `${error instanceof ConfigError ? error.message : `Cannot load configuration: ${(error as Error).message}`}\n`,
    );
    process.exit(78); // EX_CONFIG
  }
  const log: Logger = createLogger({ level: config.logLevel, name, destination: logDestination });
  for (const notice of notices) log.info(notice);

  let runtime: Runtime;
  try {
    runtime = await openRuntime(config, log);
  } catch (error) {
    log.fatal({ err: error }, (error as Error).message);
    process.exit(1);
  }
  log.info({ database: runtime.store.driver }, 'database ready');
  const stoppers = await start(runtime);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const graceMs = config.shutdownGraceSeconds * 1000;
    const hardStop = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, graceMs + 10_000);
    hardStop.unref();
    for (const stopper of stoppers) await stopper(graceMs);
    await runtime.close();
    log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));
}
