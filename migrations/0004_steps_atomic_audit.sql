DROP INDEX "step_runs_audit_pending_idx";--> statement-breakpoint
ALTER TABLE "step_runs" DROP COLUMN "audit_pending";--> statement-breakpoint
ALTER TABLE "step_runs" DROP COLUMN "audit_event";