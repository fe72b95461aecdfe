// The API alone (docker-compose's api service).
import { runProcess } from '../lifecycle.js';
import { runApi } from './run.js';

await runProcess('license-sync-api', async (runtime) => {
  const api = await runApi(runtime);
  return [(graceMs) => api.close(graceMs)];
});
