CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"partner_id" uuid,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"subject_type" text,
	"subject_id" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "companies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"partner_id" uuid NOT NULL,
	"name" text NOT NULL,
	"customer_tenant_id" uuid,
	"domain" text,
	"delegated_admin_id" uuid,
	"visibility" text DEFAULT 'unknown' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "consent_attempts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"partner_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"state_hash" text NOT NULL,
	"pkce_verifier_enc" text NOT NULL,
	"nonce_enc" text NOT NULL,
	"code_enc" text,
	"code_hash" text,
	"return_url" text NOT NULL,
	"status" text DEFAULT 'started' NOT NULL,
	"error" text,
	"expires_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"delegated_admin_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "custom_license_counts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"company_id" uuid NOT NULL,
	"definition_id" uuid NOT NULL,
	"state" text NOT NULL,
	"quantity" integer,
	"message" text,
	"counted_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "custom_license_definitions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"partner_id" uuid NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"company_ids" jsonb,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "delegated_admins" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"partner_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"username" text NOT NULL,
	"domain" text NOT NULL,
	"password_enc" text,
	"status" text DEFAULT 'active' NOT NULL,
	"replaced_by" uuid,
	"replaced_at" timestamp with time zone,
	"user_object_id" uuid,
	"tenant_id" uuid,
	"mfa_verified" boolean,
	"admin_agent" boolean,
	"consented_at" timestamp with time zone,
	"last_error" text,
	"next_action" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "license_snapshots" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"company_id" uuid,
	"customer_tenant_id" uuid NOT NULL,
	"sku_id" uuid NOT NULL,
	"sku_part_number" text NOT NULL,
	"active_units" integer NOT NULL,
	"consumed_units" integer NOT NULL,
	"suspended_units" integer DEFAULT 0 NOT NULL,
	"warning_units" integer DEFAULT 0 NOT NULL,
	"billed_quantity" integer NOT NULL,
	"captured_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "partners" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"home_tenant_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "refresh_results" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_id" uuid NOT NULL,
	"company_id" uuid,
	"customer_tenant_id" uuid NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"classification" text,
	"error_code" text,
	"error_message" text,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "refresh_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"partner_id" uuid NOT NULL,
	"trigger" text NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"total" integer DEFAULT 0 NOT NULL,
	"succeeded" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	"error" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "token_cache_partitions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"partner_id" uuid NOT NULL,
	"purpose" text NOT NULL,
	"cache_enc" text NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"home_account_id" text,
	"last_used_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "companies" ADD CONSTRAINT "companies_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "companies" ADD CONSTRAINT "companies_delegated_admin_id_delegated_admins_id_fk" FOREIGN KEY ("delegated_admin_id") REFERENCES "public"."delegated_admins"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "consent_attempts" ADD CONSTRAINT "consent_attempts_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "consent_attempts" ADD CONSTRAINT "consent_attempts_delegated_admin_id_delegated_admins_id_fk" FOREIGN KEY ("delegated_admin_id") REFERENCES "public"."delegated_admins"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "custom_license_counts" ADD CONSTRAINT "custom_license_counts_run_id_refresh_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."refresh_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "custom_license_counts" ADD CONSTRAINT "custom_license_counts_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "custom_license_counts" ADD CONSTRAINT "custom_license_counts_definition_id_custom_license_definitions_id_fk" FOREIGN KEY ("definition_id") REFERENCES "public"."custom_license_definitions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "custom_license_definitions" ADD CONSTRAINT "custom_license_definitions_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delegated_admins" ADD CONSTRAINT "delegated_admins_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delegated_admins" ADD CONSTRAINT "delegated_admins_replaced_by_delegated_admins_id_fk" FOREIGN KEY ("replaced_by") REFERENCES "public"."delegated_admins"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "license_snapshots" ADD CONSTRAINT "license_snapshots_run_id_refresh_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."refresh_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "license_snapshots" ADD CONSTRAINT "license_snapshots_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refresh_results" ADD CONSTRAINT "refresh_results_run_id_refresh_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."refresh_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refresh_results" ADD CONSTRAINT "refresh_results_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refresh_runs" ADD CONSTRAINT "refresh_runs_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "token_cache_partitions" ADD CONSTRAINT "token_cache_partitions_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_events_partner_created_idx" ON "audit_events" USING btree ("partner_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "companies_partner_tenant_uq" ON "companies" USING btree ("partner_id","customer_tenant_id");--> statement-breakpoint
CREATE INDEX "companies_delegated_admin_idx" ON "companies" USING btree ("delegated_admin_id");--> statement-breakpoint
CREATE UNIQUE INDEX "consent_attempts_state_uq" ON "consent_attempts" USING btree ("state_hash");--> statement-breakpoint
CREATE INDEX "consent_attempts_status_idx" ON "consent_attempts" USING btree ("status");--> statement-breakpoint
CREATE UNIQUE INDEX "custom_license_counts_run_company_def_uq" ON "custom_license_counts" USING btree ("run_id","company_id","definition_id");--> statement-breakpoint
CREATE INDEX "custom_license_definitions_partner_idx" ON "custom_license_definitions" USING btree ("partner_id");--> statement-breakpoint
CREATE INDEX "delegated_admins_partner_domain_idx" ON "delegated_admins" USING btree ("partner_id","domain");--> statement-breakpoint
CREATE UNIQUE INDEX "license_snapshots_run_tenant_sku_uq" ON "license_snapshots" USING btree ("run_id","customer_tenant_id","sku_id");--> statement-breakpoint
CREATE UNIQUE INDEX "refresh_results_run_tenant_uq" ON "refresh_results" USING btree ("run_id","customer_tenant_id");--> statement-breakpoint
CREATE INDEX "refresh_results_run_status_idx" ON "refresh_results" USING btree ("run_id","status");--> statement-breakpoint
CREATE INDEX "refresh_runs_partner_started_idx" ON "refresh_runs" USING btree ("partner_id","started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "token_cache_partitions_partner_purpose_uq" ON "token_cache_partitions" USING btree ("partner_id","purpose");