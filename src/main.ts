// `npm start`: the API and the workers in one process.
import { runWorkers } from '../workers/run.js';
import { runProcess } from './lifecycle.js';
import { runApi } from './server/run.js';

await runProcess('license-sync', async (runtime) => {
  const api = await runApi(runtime);
  const workers = runWorkers(runtime);
  return [(graceMs) => api.close(graceMs), (graceMs) => workers.close(graceMs)];
});
