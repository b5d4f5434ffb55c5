CREATE TABLE "archives" (
	"id" uuid PRIMARY KEY NOT NULL,
	"message_id" uuid NOT NULL,
	"job_id" uuid NOT NULL,
	"step_path" text NOT NULL,
	"tenant" text NOT NULL,
	"intent" text NOT NULL,
	"size" integer NOT NULL,
	"sha256" text NOT NULL,
	"ciphertext" "bytea" NOT NULL,
	"wrapped_key" "bytea" NOT NULL,
	"key_id" text NOT NULL,
	"retain_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "archives_job_step_unique" UNIQUE("job_id","step_path")
);
--> statement-breakpoint
CREATE TABLE "step_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"job_id" uuid NOT NULL,
	"message_id" uuid NOT NULL,
	"tenant" text NOT NULL,
	"path" text NOT NULL,
	"name" text NOT NULL,
	"action" text NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"claim_token" text,
	"claimed_until" timestamp with time zone,
	"result" jsonb,
	"resource_id" text,
	"last_error" text,
	"webhook_id" text,
	"audit_event_id" uuid,
	"audit_pending" boolean DEFAULT false NOT NULL,
	"audit_event" jsonb,
	"redrives" integer DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "step_runs_job_path_unique" UNIQUE("job_id","path")
);
--> statement-breakpoint
ALTER TABLE "step_runs" ADD CONSTRAINT "step_runs_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "archives_retain_idx" ON "archives" USING btree ("retain_until");--> statement-breakpoint
CREATE INDEX "archives_message_idx" ON "archives" USING btree ("message_id");--> statement-breakpoint
CREATE INDEX "step_runs_message_idx" ON "step_runs" USING btree ("message_id");--> statement-breakpoint
CREATE INDEX "step_runs_dead_idx" ON "step_runs" USING btree ("tenant","updated_at") WHERE "step_runs"."status" = 'dead';--> statement-breakpoint
CREATE INDEX "step_runs_audit_pending_idx" ON "step_runs" USING btree ("job_id") WHERE "step_runs"."audit_pending";