import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Router } from 'express';
import { splitJobData } from '../queue/catalog.js';

export const queueBoardPath = '/admin/queues';

/** Bull Board over every catalog queue; the caller puts authentication in front of it. */
export function queueBoardRouter(queues: Queue[]): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(queueBoardPath);
  createBullBoard({
    queues: queues.map(labelledBoardQueue),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'license-sync' } },
  });
  return serverAdapter.getRouter() as Router;
}

/** A queue on the board whose jobs about a company read "refreshCustomer · Contoso Ltd". */
function labelledBoardQueue(queue: Queue): BullMQAdapter {
  const adapter = new BullMQAdapter(queue);
  adapter.setFormatter('name', (job: { name: string; data: unknown }) => {
    const { label } = splitJobData(job.data);
    return label ? `${job.name} · ${label}` : job.name;
  });
  return adapter;
}
