CREATE TABLE "psa_company_links" (
	"company_id" uuid PRIMARY KEY NOT NULL,
	"partner_id" uuid NOT NULL,
	"psa_company_id" text NOT NULL,
	"psa_company_name" text NOT NULL,
	"container_id" text,
	"container_name" text,
	"confirmed_by" text NOT NULL,
	"confirmed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "psa_connections" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"partner_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"settings" jsonb NOT NULL,
	"credentials_enc" text NOT NULL,
	"effective_date_policy" text DEFAULT 'today' NOT NULL,
	"status" text DEFAULT 'untested' NOT NULL,
	"last_error" text,
	"last_tested_at" timestamp with time zone,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "psa_product_mappings" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"partner_id" uuid NOT NULL,
	"source_key" text NOT NULL,
	"psa_product_id" text NOT NULL,
	"psa_product_name" text NOT NULL,
	"count_basis" text NOT NULL,
	"apply_mode" text DEFAULT 'approval' NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "psa_sync_changes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"partner_id" uuid NOT NULL,
	"company_id" uuid NOT NULL,
	"source_key" text NOT NULL,
	"product_name" text NOT NULL,
	"action" text NOT NULL,
	"container_id" text NOT NULL,
	"psa_product_id" text NOT NULL,
	"psa_line_id" text,
	"before" integer NOT NULL,
	"target" integer NOT NULL,
	"effective_date" text NOT NULL,
	"status" text NOT NULL,
	"approved_by" text,
	"approved_at" timestamp with time zone,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "psa_sync_ledger" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"partner_id" uuid NOT NULL,
	"company_id" uuid,
	"change_id" uuid NOT NULL,
	"psa_kind" text NOT NULL,
	"product_name" text NOT NULL,
	"action" text NOT NULL,
	"container_id" text NOT NULL,
	"psa_line_id" text NOT NULL,
	"before" integer NOT NULL,
	"after" integer NOT NULL,
	"effective_date" text NOT NULL,
	"psa_response_id" text NOT NULL,
	"already_applied" boolean NOT NULL,
	"approved_by" text NOT NULL,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reconciliation_rows" (
	"company_id" uuid NOT NULL,
	"source_key" text NOT NULL,
	"partner_id" uuid NOT NULL,
	"mapping_id" uuid,
	"product_name" text NOT NULL,
	"sku_id" uuid,
	"sku_part_number" text,
	"microsoft_purchased" integer,
	"microsoft_assigned" integer,
	"custom_count" integer,
	"psa_billed" integer,
	"psa_line_id" text,
	"difference" integer,
	"difference_since" timestamp with time zone,
	"checked_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "refresh_runs" ADD COLUMN "billing_queued_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "psa_company_links" ADD CONSTRAINT "psa_company_links_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "psa_company_links" ADD CONSTRAINT "psa_company_links_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "psa_connections" ADD CONSTRAINT "psa_connections_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "psa_product_mappings" ADD CONSTRAINT "psa_product_mappings_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "psa_sync_changes" ADD CONSTRAINT "psa_sync_changes_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "psa_sync_changes" ADD CONSTRAINT "psa_sync_changes_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "psa_sync_ledger" ADD CONSTRAINT "psa_sync_ledger_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "psa_sync_ledger" ADD CONSTRAINT "psa_sync_ledger_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reconciliation_rows" ADD CONSTRAINT "reconciliation_rows_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reconciliation_rows" ADD CONSTRAINT "reconciliation_rows_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reconciliation_rows" ADD CONSTRAINT "reconciliation_rows_mapping_id_psa_product_mappings_id_fk" FOREIGN KEY ("mapping_id") REFERENCES "public"."psa_product_mappings"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "psa_company_links_partner_idx" ON "psa_company_links" USING btree ("partner_id");--> statement-breakpoint
CREATE UNIQUE INDEX "psa_connections_partner_uq" ON "psa_connections" USING btree ("partner_id");--> statement-breakpoint
CREATE UNIQUE INDEX "psa_product_mappings_partner_source_uq" ON "psa_product_mappings" USING btree ("partner_id","source_key");--> statement-breakpoint
CREATE INDEX "psa_sync_changes_partner_status_idx" ON "psa_sync_changes" USING btree ("partner_id","status");--> statement-breakpoint
CREATE UNIQUE INDEX "psa_sync_changes_open_uq" ON "psa_sync_changes" USING btree ("company_id","source_key") WHERE "psa_sync_changes"."status" in ('planned', 'approved', 'applying');--> statement-breakpoint
CREATE INDEX "psa_sync_ledger_company_idx" ON "psa_sync_ledger" USING btree ("company_id","applied_at");--> statement-breakpoint
CREATE UNIQUE INDEX "psa_sync_ledger_change_uq" ON "psa_sync_ledger" USING btree ("change_id");--> statement-breakpoint
CREATE UNIQUE INDEX "reconciliation_rows_company_source_uq" ON "reconciliation_rows" USING btree ("company_id","source_key");--> statement-breakpoint
CREATE INDEX "reconciliation_rows_partner_idx" ON "reconciliation_rows" USING btree ("partner_id");--> statement-breakpoint
-- The ledger is never rewritten: only a deleted company's reference may be cleared.
CREATE FUNCTION "psa_sync_ledger_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.company_id IS NULL AND to_jsonb(NEW) - 'company_id' = to_jsonb(OLD) - 'company_id' THEN
		RETURN NEW;
	END IF;
	RAISE EXCEPTION 'psa_sync_ledger is append-only';
END
$$;--> statement-breakpoint
CREATE TRIGGER "psa_sync_ledger_no_update" BEFORE UPDATE ON "psa_sync_ledger"
	FOR EACH ROW EXECUTE FUNCTION "psa_sync_ledger_append_only"();
