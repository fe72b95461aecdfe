CREATE TABLE "customer_subscriptions" (
	"partner_id" uuid NOT NULL,
	"customer_tenant_id" uuid NOT NULL,
	"subscription_id" text NOT NULL,
	"offer_id" text NOT NULL,
	"offer_name" text,
	"sku_id" uuid,
	"quantity" integer NOT NULL,
	"status" text NOT NULL,
	"term_duration" text,
	"billing_cycle" text,
	"commitment_end_date" timestamp with time zone,
	"cancellation_allowed_until_date" timestamp with time zone,
	"auto_renew_enabled" boolean,
	"product_type" text,
	"is_trial" boolean DEFAULT false NOT NULL,
	"run_id" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "customer_subscriptions" ADD CONSTRAINT "customer_subscriptions_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "customer_subscriptions" ADD CONSTRAINT "customer_subscriptions_run_id_refresh_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."refresh_runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "customer_subscriptions_partner_tenant_sub_uq" ON "customer_subscriptions" USING btree ("partner_id","customer_tenant_id","subscription_id");