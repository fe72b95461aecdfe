ALTER TABLE "refresh_runs" ADD COLUMN "opened_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
-- A run stored before this column was opened when it started (reopened ones included: their
-- reopening was not recorded).
UPDATE "refresh_runs" SET "opened_at" = "started_at";--> statement-breakpoint
CREATE INDEX "customer_subscriptions_open_window_idx" ON "customer_subscriptions" USING btree ("cancellation_allowed_until_date") WHERE "customer_subscriptions"."status" = 'active';
