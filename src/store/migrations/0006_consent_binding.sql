ALTER TABLE "consent_attempts" ADD COLUMN "session_hash" text;--> statement-breakpoint
ALTER TABLE "consent_attempts" ADD COLUMN "authority_tenant_id" uuid;--> statement-breakpoint
-- Before the index: say what to do instead of a bare unique violation.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM "partners" WHERE "home_tenant_id" IS NOT NULL GROUP BY "home_tenant_id" HAVING count(*) > 1) THEN
    RAISE EXCEPTION 'Several partners share one Microsoft tenant (partners.home_tenant_id). Keep it on the partner it belongs to, set it to null and remove the consents on the others, then start again.';
  END IF;
END $$;--> statement-breakpoint
CREATE UNIQUE INDEX "partners_home_tenant_uq" ON "partners" USING btree ("home_tenant_id") WHERE "partners"."home_tenant_id" is not null;
