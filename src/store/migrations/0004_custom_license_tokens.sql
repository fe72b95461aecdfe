ALTER TABLE "delegated_admins" ADD COLUMN "granted_scopes" jsonb;--> statement-breakpoint
ALTER TABLE "delegated_admins" ADD COLUMN "validation" text;--> statement-breakpoint
ALTER TABLE "delegated_admins" ADD COLUMN "validation_reason" text;--> statement-breakpoint
ALTER TABLE "delegated_admins" ADD COLUMN "last_validated_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "delegated_admins" ADD COLUMN "last_used_at" timestamp with time zone;