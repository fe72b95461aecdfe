CREATE TABLE "seat_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"company_id" uuid NOT NULL,
	"run_id" uuid,
	"product_key" text NOT NULL,
	"sku_id" uuid,
	"product_name" text NOT NULL,
	"field" text NOT NULL,
	"from_value" integer NOT NULL,
	"to_value" integer NOT NULL,
	"initial" boolean DEFAULT false NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "seat_history" ADD CONSTRAINT "seat_history_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "seat_history_company_at_idx" ON "seat_history" USING btree ("company_id","at");--> statement-breakpoint
CREATE INDEX "seat_history_company_product_idx" ON "seat_history" USING btree ("company_id","product_key","field","id");--> statement-breakpoint
-- The history is never rewritten: no UPDATE, and a row goes only with its company (the
-- foreign key's cascade when a company or its partner is deleted).
CREATE FUNCTION "seat_history_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM "companies" WHERE "id" = OLD.company_id) THEN
		RETURN OLD;
	END IF;
	RAISE EXCEPTION 'seat_history is append-only';
END
$$;--> statement-breakpoint
CREATE TRIGGER "seat_history_no_rewrite" BEFORE UPDATE OR DELETE ON "seat_history"
	FOR EACH ROW EXECUTE FUNCTION "seat_history_append_only"();--> statement-breakpoint
CREATE FUNCTION "seat_history_no_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'seat_history is append-only';
END
$$;--> statement-breakpoint
CREATE TRIGGER "seat_history_no_truncate" BEFORE TRUNCATE ON "seat_history"
	FOR EACH STATEMENT EXECUTE FUNCTION "seat_history_no_truncate"();
