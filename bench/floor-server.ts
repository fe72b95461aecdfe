// The callback benchmark's floor, as its own process like the API: a bare Express route doing
// one PostgreSQL UPDATE and one Queue.add, then the same 303 redirect.
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import express from 'express';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const queue = new Queue('floor', {
  connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
  prefix: process.env.QUEUE_PREFIX ?? '{floor}',
});
const app = express();
app.get('/floor', async (req, res) => {
  const { rows } = await pool.query<{ id: number }>(
    'update bench_floor set code = $1, received_at = now() where state = $2 and code is null returning id',
    [req.query.code, req.query.state],
  );
  await queue.add('x', { id: rows[0]?.id }, { jobId: `floor-${rows[0]?.id ?? randomUUID()}` });
  res.redirect(303, '/done');
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ msg: 'floor listening', port: address.port })}\n`);
});
