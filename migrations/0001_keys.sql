CREATE TABLE "tenant_contacts" (
	"tenant" text NOT NULL,
	"address" text NOT NULL,
	"phone" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "tenant_contacts_tenant_address_pk" PRIMARY KEY("tenant","address")
);
--> statement-breakpoint
CREATE TABLE "tenant_keys" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant" text NOT NULL,
	"kind" text NOT NULL,
	"fingerprint" text NOT NULL,
	"addresses" text[] NOT NULL,
	"subject" text NOT NULL,
	"issuer" text,
	"not_before" timestamp with time zone,
	"not_after" timestamp with time zone,
	"public_data" "bytea" NOT NULL,
	"secret_ciphertext" "bytea",
	"secret_wrapped_key" "bytea",
	"secret_key_id" text,
	"details" jsonb NOT NULL,
	"source" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "tenant_keys_tenant_kind_fingerprint_uq" UNIQUE("tenant","kind","fingerprint")
);
--> statement-breakpoint
CREATE INDEX "tenant_keys_tenant_kind_idx" ON "tenant_keys" USING btree ("tenant","kind");