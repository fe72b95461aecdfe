ALTER TABLE "psa_connections" ADD COLUMN "proration" text DEFAULT 'prorate' NOT NULL;--> statement-breakpoint
ALTER TABLE "psa_sync_changes" ADD COLUMN "proration" text DEFAULT 'prorate' NOT NULL;--> statement-breakpoint
ALTER TABLE "psa_sync_ledger" ADD COLUMN "proration" text;