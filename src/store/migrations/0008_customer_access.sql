CREATE TABLE "access_actions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"partner_id" uuid NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"customer_tenant_id" uuid NOT NULL,
	"relationship_id" text,
	"outcome" text NOT NULL,
	"message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "customer_access" (
	"partner_id" uuid NOT NULL,
	"customer_tenant_id" uuid NOT NULL,
	"customer_name" text,
	"state" text NOT NULL,
	"relationships" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"features" jsonb NOT NULL,
	"reason" text,
	"app_consent" text DEFAULT 'unknown' NOT NULL,
	"app_consent_checked_at" timestamp with time zone,
	"checked_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "refresh_runs" ADD COLUMN "no_access" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "access_actions" ADD CONSTRAINT "access_actions_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "customer_access" ADD CONSTRAINT "customer_access_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "access_actions_partner_created_idx" ON "access_actions" USING btree ("partner_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "customer_access_partner_tenant_uq" ON "customer_access" USING btree ("partner_id","customer_tenant_id");