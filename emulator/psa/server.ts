import { mkdtempSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { generateTls, type TlsMaterial } from '../tls.js';
import { PsaEmulatorBase } from './base.js';
import { psaControlRouter } from './control.js';
import type { PsaEmulatorDefinition, PsaHolder, PsaScenarioCommon } from './definition.js';

export interface PsaEmulatorOptions<Scenario> {
  /** Default: the PSA's default scenario */
  scenario?: Scenario;
  /** Default: 0 (any free port) */
  port?: number;
  /** Host name in the URL the emulator reports. Default: 127.0.0.1 */
  hostname?: string;
  /** A certificate to serve; by default one is generated for the loopback names. */
  tls?: TlsMaterial;
  /** Where the CA file is written. Default: a fresh temporary directory */
  dir?: string;
}

export interface RunningPsaEmulator<State> {
  /** https://host:port */
  url: string;
  /** PEM file to trust (HTTP_EXTRA_CA_FILE). */
  caFile: string;
  ca: string;
  readonly state: State;
  readonly base: PsaEmulatorBase;
  stop(): Promise<void>;
  /** Stops listening and drops every connection, keeping the state: connections are refused. */
  down(): Promise<void>;
  /** Listens again on the same port after down(), with the state as it was. */
  up(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts one PSA's emulator over HTTPS; stop() closes it. */
export async function startPsaEmulator<Scenario extends PsaScenarioCommon, State>(
  definition: PsaEmulatorDefinition<Scenario, State>,
  options: PsaEmulatorOptions<Scenario> = {},
): Promise<RunningPsaEmulator<State>> {
  const tls = options.tls ?? (await generateTls(`license-sync ${definition.kind} emulator`));
  const make = (scenario: Scenario): PsaHolder<State> => {
    const base = new PsaEmulatorBase(scenario);
    return { base, state: definition.createState(scenario, base) };
  };
  let scenario = options.scenario ?? definition.defaultScenario();
  let current = make(scenario);
  let url = '';
  // Routers are bound to one state; PUT /scenario makes a new state, hence a new router.
  const routers = new WeakMap<PsaHolder<State>, express.Router>();
  const routerOf = (h: PsaHolder<State>) => {
    let r = routers.get(h);
    if (!r) {
      r = definition.router(h.state, h.base, () => url);
      routers.set(h, r);
    }
    return r;
  };

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(
    '/_emulator',
    psaControlRouter(definition, {
      get: () => current,
      scenario: () => scenario,
      replace: (input) => {
        scenario = definition.parseScenario(input);
        current = make(scenario);
      },
    }),
  );
  app.use(express.json({ limit: '5mb', type: ['application/json', 'application/*+json'] }));
  app.use(async (req: Request, res: Response, next: NextFunction) => {
    const { base } = current;
    const started = Date.now();
    const path = req.path;
    const write = req.method !== 'GET' && req.is('json') !== false && req.body !== undefined;
    const log = (status: number) =>
      base.record({
        time: new Date(base.now()).toISOString(),
        method: req.method,
        path,
        query: req.originalUrl.includes('?')
          ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1)
          : '',
        status,
        fault: res.locals.fault === true,
        durationMs: Date.now() - started,
        ...(write ? { body: req.body as unknown } : {}),
      });
    res.on('finish', () => log(res.statusCode));
    res.on('close', () => {
      if (!res.writableFinished) log(499);
    });
    base.requests.emit('arrived', { method: req.method, path });
    // A client that hangs up does not stop the handling, as at a real PSA: ending the answer
    // emits no 'finish' then, so the end itself tells that the request was done with.
    const end = res.end.bind(res) as (...args: unknown[]) => Response;
    res.end = ((...args: unknown[]) => {
      base.requests.emit('answered', {
        method: req.method,
        path,
        status: res.statusCode,
        clientGone: res.destroyed,
      });
      return end(...args);
    }) as Response['end'];
    if (scenario.latencyMs > 0) await sleep(scenario.latencyMs);
    const fault = base.takeFault(req.method, path);
    if (!fault) return next();
    res.locals.fault = true;
    if (fault.delayMs) await sleep(fault.delayMs);
    if (fault.status === undefined) return next();
    if (fault.retryAfterSec !== undefined) res.set('Retry-After', String(fault.retryAfterSec));
    definition.sendError(res, fault.status, fault.message ?? 'Injected fault.');
  });
  app.use((req, res, next) => routerOf(current)(req, res, next));
  app.use((req: Request, res: Response) =>
    definition.sendError(res, 404, `No route matches ${req.method} ${req.path}.`),
  );
  // A malformed JSON body, as the PSA would refuse it.
  app.use(
    (error: Error & { status?: number }, _req: Request, res: Response, next: NextFunction) => {
      if (res.headersSent) return next(error);
      const status = error.status && error.status < 500 ? error.status : 500;
      definition.sendError(res, status, status === 500 ? 'Internal error.' : error.message);
    },
  );

  const hostname = options.hostname ?? '127.0.0.1';
  const server: Server = createServer({ cert: tls.cert, key: tls.key }, app);
  server.keepAliveTimeout = 30_000;
  const host = hostname === 'localhost' ? '127.0.0.1' : hostname;
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };
  url = `https://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), `${definition.kind}-emulator-`));
  const caFile = join(dir, `${definition.kind}-emulator-ca.pem`);
  writeFileSync(caFile, tls.cert);
  return {
    url,
    caFile,
    ca: tls.cert,
    get state() {
      return current.state;
    },
    get base() {
      return current.base;
    },
    stop: close,
    down: close,
    async up() {
      server.listen(port, host);
      await once(server, 'listening');
    },
  };
}
