CREATE TABLE "customer_license_reads" (
	"partner_id" uuid NOT NULL,
	"customer_tenant_id" uuid NOT NULL,
	"company_id" uuid,
	"run_id" uuid NOT NULL,
	"read_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "customer_license_reads_partner_id_customer_tenant_id_pk" PRIMARY KEY("partner_id","customer_tenant_id")
);
--> statement-breakpoint
CREATE TABLE "customer_licenses" (
	"partner_id" uuid NOT NULL,
	"customer_tenant_id" uuid NOT NULL,
	"sku_id" uuid NOT NULL,
	"company_id" uuid,
	"sku_part_number" text NOT NULL,
	"active_units" integer NOT NULL,
	"consumed_units" integer NOT NULL,
	"suspended_units" integer DEFAULT 0 NOT NULL,
	"warning_units" integer DEFAULT 0 NOT NULL,
	"billed_quantity" integer NOT NULL,
	"changed_run_id" uuid NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "customer_licenses_partner_id_customer_tenant_id_sku_id_pk" PRIMARY KEY("partner_id","customer_tenant_id","sku_id")
);
--> statement-breakpoint
-- Each customer's newest snapshot set (the one the pages showed) becomes its current state:
-- the read names its run and time; its SKUs are the set's rows.
INSERT INTO "customer_license_reads" ("partner_id", "customer_tenant_id", "company_id", "run_id", "read_at")
SELECT DISTINCT ON (r."partner_id", s."customer_tenant_id")
  r."partner_id", s."customer_tenant_id", s."company_id", s."run_id", s."captured_at"
FROM "license_snapshots" s JOIN "refresh_runs" r ON r."id" = s."run_id"
ORDER BY r."partner_id", s."customer_tenant_id", s."captured_at" DESC, s."id" DESC;--> statement-breakpoint
INSERT INTO "customer_licenses" ("partner_id", "customer_tenant_id", "sku_id", "company_id", "sku_part_number", "active_units", "consumed_units", "suspended_units", "warning_units", "billed_quantity", "changed_run_id", "changed_at")
SELECT c."partner_id", s."customer_tenant_id", s."sku_id", s."company_id", s."sku_part_number",
  s."active_units", s."consumed_units", s."suspended_units", s."warning_units",
  s."billed_quantity", s."run_id", s."captured_at"
FROM "customer_license_reads" c
JOIN "license_snapshots" s ON s."run_id" = c."run_id" AND s."customer_tenant_id" = c."customer_tenant_id";--> statement-breakpoint
ALTER TABLE "license_snapshots" DISABLE ROW LEVEL SECURITY;--> statement-breakpoint
DROP TABLE "license_snapshots" CASCADE;--> statement-breakpoint
ALTER TABLE "custom_license_counts" DROP CONSTRAINT "custom_license_counts_run_id_refresh_runs_id_fk";
--> statement-breakpoint
ALTER TABLE "custom_license_counts" ALTER COLUMN "run_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "customer_license_reads" ADD CONSTRAINT "customer_license_reads_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "customer_license_reads" ADD CONSTRAINT "customer_license_reads_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "customer_licenses" ADD CONSTRAINT "customer_licenses_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "customer_licenses" ADD CONSTRAINT "customer_licenses_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "customer_license_reads_company_idx" ON "customer_license_reads" USING btree ("company_id");--> statement-breakpoint
CREATE INDEX "customer_licenses_company_idx" ON "customer_licenses" USING btree ("company_id");--> statement-breakpoint
ALTER TABLE "custom_license_counts" ADD CONSTRAINT "custom_license_counts_run_id_refresh_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."refresh_runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "customer_subscriptions_run_idx" ON "customer_subscriptions" USING btree ("run_id");