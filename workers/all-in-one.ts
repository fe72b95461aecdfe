// `npm start`: the API and the workers in one process.
import { runProcess } from '../src/lifecycle.js';
import { runApi } from '../src/server/run.js';
import { runWorkers } from './run.js';

await runProcess('license-sync', async (runtime) => {
  const api = await runApi(runtime);
  const workers = runWorkers(runtime);
  return [(graceMs) => api.close(graceMs), (graceMs) => workers.close(graceMs)];
});
