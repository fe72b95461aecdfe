DROP INDEX "token_cache_partitions_partner_purpose_uq";--> statement-breakpoint
ALTER TABLE "consent_attempts" ALTER COLUMN "pkce_verifier_enc" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "consent_attempts" ALTER COLUMN "nonce_enc" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "delegated_admins" ADD COLUMN "replacement_checked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "token_cache_partitions" ADD COLUMN "delegated_admin_id" uuid NOT NULL;--> statement-breakpoint
ALTER TABLE "token_cache_partitions" ADD CONSTRAINT "token_cache_partitions_delegated_admin_id_delegated_admins_id_fk" FOREIGN KEY ("delegated_admin_id") REFERENCES "public"."delegated_admins"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "token_cache_partitions_admin_purpose_uq" ON "token_cache_partitions" USING btree ("delegated_admin_id","purpose");--> statement-breakpoint
CREATE INDEX "token_cache_partitions_partner_idx" ON "token_cache_partitions" USING btree ("partner_id");