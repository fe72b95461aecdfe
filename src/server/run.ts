import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Runtime } from '../runtime.js';
import { createApp, type AppOptions } from './app.js';
import { createMetrics, createMetricsApp } from './metrics.js';

export interface RunningApi {
  server: Server;
  port: number;
  /** The METRICS_PORT listener's port, when there is one. */
  metricsPort: number | undefined;
  /** Stops accepting connections and waits for open requests up to `graceMs`. */
  close(graceMs: number): Promise<void>;
}

async function listen(server: Server): Promise<AddressInfo> {
  await once(server, 'listening');
  return server.address() as AddressInfo;
}

async function closeServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}

export async function runApi(runtime: Runtime, options: AppOptions = {}): Promise<RunningApi> {
  const { config, log } = runtime;
  const metrics = createMetrics(() => runtime.queues.all());
  // Without HOST, Node binds every interface (IPv6 and IPv4).
  const server = createApp(runtime, metrics, options).listen({
    port: config.port,
    host: config.host,
  });
  const { port, address } = await listen(server);
  log.info({ port, address, publicUrl: config.publicUrl }, 'API listening');
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : createMetricsApp(metrics).listen({ port: config.metricsPort, host: config.host });
  const metricsPort = metricsServer && (await listen(metricsServer)).port;
  if (metricsServer) log.info({ port: metricsPort }, 'metrics listening');
  return {
    server,
    port,
    metricsPort,
    async close(graceMs) {
      await Promise.all([
        closeServer(server, graceMs),
        metricsServer && closeServer(metricsServer, graceMs),
      ]);
    },
  };
}
