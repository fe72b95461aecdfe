// The workers alone (docker-compose's worker service).
import { runProcess } from '../src/lifecycle.js';
import { runWorkers } from './run.js';

await runProcess('license-sync-worker', (runtime) => {
  const workers = runWorkers(runtime);
  return Promise.resolve([(graceMs) => workers.close(graceMs)]);
});
