// The compiled store opens its migrations beside itself: copy them next to dist/src/store.
import { cpSync } from 'node:fs';

cpSync('src/store/migrations', 'dist/src/store/migrations', { recursive: true });
