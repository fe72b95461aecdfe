import { defineConfig } from 'drizzle-kit';

// Generation needs no database: `npm run db:generate` diffs src/store/schema.ts against the
// committed snapshots in src/store/migrations.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/schema.ts',
  out: './src/store/migrations',
});
