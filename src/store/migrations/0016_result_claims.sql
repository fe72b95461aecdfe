ALTER TABLE "refresh_results" ADD COLUMN "claim" uuid;--> statement-breakpoint
ALTER TABLE "refresh_results" ADD COLUMN "claimed_until" timestamp with time zone;