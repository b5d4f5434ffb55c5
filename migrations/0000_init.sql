CREATE TABLE "audit_checkpoints" (
	"tenant" text NOT NULL,
	"seq" bigint NOT NULL,
	"head_hash" text NOT NULL,
	"prev_checkpoint_hash" text NOT NULL,
	"timestamp" text NOT NULL,
	"key_id" text NOT NULL,
	"signature" text NOT NULL,
	"hash" text NOT NULL,
	CONSTRAINT "audit_checkpoints_tenant_seq_pk" PRIMARY KEY("tenant","seq")
);
--> statement-breakpoint
CREATE TABLE "audit_heads" (
	"tenant" text PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	"hash" text NOT NULL,
	"checkpoint_seq" bigint DEFAULT 0 NOT NULL,
	"checkpoint_hash" text NOT NULL,
	"checkpoint_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_records" (
	"tenant" text NOT NULL,
	"seq" bigint NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL,
	"body" text NOT NULL,
	"event_type" text NOT NULL,
	"intent" text,
	"actor_email" text,
	"result_status" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "audit_records_tenant_seq_pk" PRIMARY KEY("tenant","seq")
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"message_id" uuid NOT NULL,
	"tenant" text NOT NULL,
	"intent" text NOT NULL,
	"plan" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "jobs_message_id_unique" UNIQUE("message_id")
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant" text NOT NULL,
	"intent" text NOT NULL,
	"recipient" text NOT NULL,
	"address_detail" text,
	"envelope_from" text,
	"header_from" text,
	"sender_verified" boolean NOT NULL,
	"message_id_header" text,
	"size" integer NOT NULL,
	"sha256" text NOT NULL,
	"client_ip" text,
	"helo" text,
	"tls" boolean NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"authentication" jsonb NOT NULL,
	"ciphertext" "bytea" NOT NULL,
	"wrapped_key" "bytea",
	"key_id" text NOT NULL,
	"policy_file" text NOT NULL,
	"policy_version" text NOT NULL,
	"status" text DEFAULT 'accepted' NOT NULL,
	"legal_hold" boolean DEFAULT false NOT NULL,
	"erased_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "rate_counters" (
	"key" text NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"count" integer NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "rate_counters_key_window_start_pk" PRIMARY KEY("key","window_start")
);
--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_records_tenant_created_idx" ON "audit_records" USING btree ("tenant","created_at");--> statement-breakpoint
CREATE INDEX "audit_records_actor_idx" ON "audit_records" USING btree ("actor_email");--> statement-breakpoint
CREATE INDEX "jobs_status_idx" ON "jobs" USING btree ("status");--> statement-breakpoint
CREATE INDEX "messages_tenant_received_idx" ON "messages" USING btree ("tenant","received_at");--> statement-breakpoint
CREATE INDEX "rate_counters_expires_idx" ON "rate_counters" USING btree ("expires_at");