import type { Queue } from 'bullmq';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { withDeadline } from '../deadline.js';

/** How long a scrape waits for Redis. Default: 1.5 s */
const scrapeTimeoutMs = 1_500;
const jobStates = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

export interface HttpMetrics {
  registry: Registry;
  /** Express middleware timing every request by method, route and status. */
  observe(req: Request, res: Response, next: NextFunction): void;
}

/**
 * A registry per app (not prom-client's global one, so tests can build several apps) with
 * process metrics, request latency, and job counts per queue and state read at scrape time.
 */
export function createMetrics(queues: () => Queue[]): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  // Both gauges are collected in the same scrape; they share one read of Redis, bounded so
  // a down Redis makes the scrape report it rather than hang.
  type Counts = { queue: string; counts: Record<string, number> }[];
  let inflight: Promise<Counts | undefined> | undefined;
  const readCounts = () =>
    (inflight ??= withDeadline(
      scrapeTimeoutMs,
      Promise.all(
        queues().map(async (queue) => ({
          queue: queue.name,
          counts: await queue.getJobCounts(...jobStates),
        })),
      ),
    )
      .catch(() => undefined)
      .finally(() => (inflight = undefined)));

  new Gauge({
    name: 'license_sync_queue_jobs',
    help: 'Jobs per queue and state (read from Redis at scrape time).',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { queue, counts } of (await readCounts()) ?? []) {
        for (const state of jobStates) this.set({ queue, state }, counts[state] ?? 0);
      }
    },
  });

  new Gauge({
    name: 'license_sync_queue_up',
    help: '1 when the queue store (Redis) answered this scrape, else 0 (and no job counts).',
    registers: [registry],
    async collect() {
      this.set((await readCounts()) ? 1 : 0);
    },
  });

  return {
    registry,
    observe(req, res, next) {
      const end = latency.startTimer();
      res.on('finish', () => {
        // The matched route keeps label cardinality bounded; unmatched paths share one label.
        const route = (req.route as { path?: string } | undefined)?.path;
        end({
          method: req.method,
          route: route ? `${req.baseUrl}${route}` : req.baseUrl || 'unmatched',
          status: String(res.statusCode),
        });
      });
      next();
    },
  };
}

/** GET /metrics in Prometheus' text format. */
export function serveMetrics(metrics: HttpMetrics) {
  return async (_req: Request, res: Response): Promise<void> => {
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  };
}

/** The app of METRICS_PORT: /metrics alone, for a port only Prometheus can reach. */
export function createMetricsApp(metrics: HttpMetrics): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', serveMetrics(metrics));
  return app;
}
