import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Runtime } from '../runtime.js';
import { createApp } from './app.js';

export interface RunningApi {
  server: Server;
  port: number;
  /** Stops accepting connections and waits for open requests up to `graceMs`. */
  close(graceMs: number): Promise<void>;
}

export async function runApi(runtime: Runtime): Promise<RunningApi> {
  const server = createApp(runtime).listen(runtime.config.port);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  runtime.log.info({ port, publicUrl: runtime.config.publicUrl }, 'API listening');
  return {
    server,
    port,
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
