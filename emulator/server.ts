import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { controlRouter } from './control.js';
import {
  sendEntraError,
  sendGraphError,
  sendPartnerCenterError,
  sendPartnerCenterThrottled,
  sendGraphThrottled,
} from './errors.js';
import { graphRouter } from './graph.js';
import { identityRouter } from './identity.js';
import { partnerCenterRouter } from './partner-center.js';
import { serveReportDownload } from './reports.js';
import type { Scenario } from './scenario.js';
import { EmulatorState, type Surface } from './state.js';
import { createSigningKeys } from './tokens.js';
import { generateTls, type TlsMaterial } from './tls.js';

export interface EmulatorOptions {
  scenario: Scenario;
  /** Default: 0 (any free port) */
  port?: number;
  /** Host name in the URL the emulator reports (and its issuers). Default: 127.0.0.1 */
  hostname?: string;
  /** A certificate to serve; by default one is generated for localhost, 127.0.0.1 and ::1. */
  tls?: TlsMaterial;
  /** Where the CA file is written. Default: a fresh temporary directory */
  dir?: string;
}

export interface RunningEmulator {
  /** https://host:port — the authority host, Partner Center and Graph origin at once. */
  url: string;
  /** PEM file to trust (HTTP_EXTRA_CA_FILE). */
  caFile: string;
  /** The same PEM, for in-process clients. */
  ca: string;
  state: EmulatorState;
  /** The first partner's tenant id. */
  partnerTenantId: string;
  stop(): Promise<void>;
}

function surfaceOf(path: string): Surface {
  // Usage report downloads (reports.office.com in Microsoft's cloud) count with Graph.
  if (path.startsWith('/v1.0/') || path.startsWith('/data/download/')) return 'graph';
  if (path.startsWith('/v1/')) return 'partnerCenter';
  return 'identity';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function createEmulatorApp(state: () => EmulatorState, control: express.Router) {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use('/_emulator', control);

  // Every Microsoft request: logged and counted, delayed by the scenario's latency, and
  // possibly answered by an injected fault in the shape of its surface.
  app.use(async (req: Request, res: Response, next: NextFunction) => {
    const s = state();
    const started = Date.now();
    const surface = surfaceOf(req.path);
    // Captured now: routers mounted below strip their prefix from req.path meanwhile.
    const path = req.path;
    const log = (status: number) => {
      s.count(res.locals.partnerTenantId as string | undefined, surface, status === 429);
      s.record({
        time: new Date(started).toISOString(),
        method: req.method,
        host: req.get('host') ?? '',
        path,
        query: req.originalUrl.includes('?')
          ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1)
          : '',
        surface,
        tenantId: res.locals.tenantId as string | undefined,
        partnerTenantId: res.locals.partnerTenantId as string | undefined,
        status,
        fault: res.locals.fault === true,
        durationMs: Date.now() - started,
      });
    };
    res.on('finish', () => log(res.statusCode));
    // The client gave up first (a timeout): logged as nginx does, 499.
    res.on('close', () => {
      if (!res.writableFinished) log(499);
    });
    if (s.scenario.latencyMs > 0) await sleep(s.scenario.latencyMs);
    const fault = s.takeFault(req.method, req.path);
    if (!fault) return next();
    res.locals.fault = true;
    if (fault.delayMs) await sleep(fault.delayMs);
    if (fault.status === undefined) return next();
    const retryAfter = fault.retryAfterSec;
    if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
    if (surface === 'partnerCenter') {
      // Partner Center echoes these on every answer, errors included.
      res.set({
        'MS-RequestId': req.get('MS-RequestId') ?? randomUUID(),
        'MS-CorrelationId': req.get('MS-CorrelationId') ?? randomUUID(),
      });
      if (fault.status === 429) sendPartnerCenterThrottled(res, retryAfter ?? 1);
      else sendPartnerCenterError(res, fault.status, fault.status, 'Injected fault.');
    } else if (surface === 'graph') {
      if (fault.status === 429) sendGraphThrottled(res, retryAfter ?? 1);
      else
        sendGraphError(
          res,
          fault.status,
          fault.status >= 500 ? 'serviceNotAvailable' : 'BadRequest',
          'Injected fault.',
        );
    } else {
      const transient = fault.status === 429 || fault.status >= 500;
      sendEntraError(
        res,
        fault.status,
        fault.error ?? (transient ? 'temporarily_unavailable' : 'invalid_request'),
        fault.aadsts ?? (transient ? 50196 : 900144),
        'Injected fault.',
      );
    }
  });

  // Routers are bound to one state; PUT /scenario makes a new state, hence new routers.
  const routers = new WeakMap<EmulatorState, Record<Surface, express.Router>>();
  const routersOf = (s: EmulatorState) => {
    let r = routers.get(s);
    if (!r) {
      r = {
        partnerCenter: partnerCenterRouter(s),
        graph: graphRouter(s),
        identity: identityRouter(s),
      };
      routers.set(s, r);
    }
    return r;
  };
  app.get('/data/download/:id', (req, res) => serveReportDownload(state(), req, res));
  app.use('/v1.0', (req, res, next) => routersOf(state()).graph(req, res, next));
  app.use('/v1', (req, res, next) => routersOf(state()).partnerCenter(req, res, next));
  app.use((req, res, next) => routersOf(state()).identity(req, res, next));

  app.use((req: Request, res: Response) => {
    const surface = surfaceOf(req.path);
    if (surface === 'partnerCenter') sendPartnerCenterError(res, 404, 1000, 'Not found.');
    else if (surface === 'graph')
      sendGraphError(
        res,
        404,
        'Request_ResourceNotFound',
        `Resource not found for the segment '${req.path.split('/').pop() ?? ''}'.`,
      );
    else
      sendEntraError(
        res,
        404,
        'invalid_request',
        900561,
        `The endpoint ${req.path} does not exist.`,
      );
  });
  return app;
}

/** Starts the emulator over HTTPS; stop() closes it. */
export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  const tls = options.tls ?? (await generateTls());
  const keys = await createSigningKeys();
  let state = new EmulatorState(options.scenario, keys);
  const holder = {
    get: () => state,
    replace: (scenario: Scenario) => {
      state = new EmulatorState(scenario, keys);
    },
  };
  const hostname = options.hostname ?? '127.0.0.1';
  let url = '';
  const app = createEmulatorApp(
    holder.get,
    controlRouter(holder, () => url),
  );
  const server: Server = createServer({ cert: tls.cert, key: tls.key }, app);
  server.keepAliveTimeout = 30_000;
  server.listen(options.port ?? 0, hostname === 'localhost' ? '127.0.0.1' : hostname);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  url = `https://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;
  // A folder of its own goes with it at stop; one it was given stays the caller's.
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'ms-emulator-'));
  const caFile = join(dir, 'emulator-ca.pem');
  writeFileSync(caFile, tls.cert);
  return {
    url,
    caFile,
    ca: tls.cert,
    get state() {
      return holder.get();
    },
    partnerTenantId: options.scenario.partners[0]!.tenantId,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
