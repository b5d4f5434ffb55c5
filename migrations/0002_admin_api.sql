CREATE TABLE "access_entries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant" text NOT NULL,
	"kind" text NOT NULL,
	"intent" text NOT NULL,
	"sender" text NOT NULL,
	"note" text,
	"expires_at" timestamp with time zone,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"tenant" text,
	"scopes" jsonb NOT NULL,
	"secret_hash" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "role_bindings" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant" text NOT NULL,
	"member" text NOT NULL,
	"roles" jsonb NOT NULL,
	"note" text,
	"expires_at" timestamp with time zone,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "access_entries_tenant_kind_idx" ON "access_entries" USING btree ("tenant","kind");--> statement-breakpoint
CREATE INDEX "api_tokens_tenant_idx" ON "api_tokens" USING btree ("tenant");--> statement-breakpoint
CREATE INDEX "role_bindings_tenant_idx" ON "role_bindings" USING btree ("tenant");