CREATE TABLE "channel_heads" (
	"user_id" text PRIMARY KEY NOT NULL,
	"last_id" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "channel_log" (
	"user_id" text NOT NULL,
	"id" bigint NOT NULL,
	"queue_id" text NOT NULL,
	"event" text NOT NULL,
	"owner" text,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "channel_log_user_id_id_pk" PRIMARY KEY("user_id","id")
);
--> statement-breakpoint
CREATE TABLE "queue_state" (
	"queue_id" text PRIMARY KEY NOT NULL,
	"paused" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "login_failures" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "login_failures_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"key" text NOT NULL,
	"failed_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sse_tickets" (
	"ticket_hash" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"holder" jsonb NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "workers" (
	"worker_id" text PRIMARY KEY NOT NULL,
	"node_id" text NOT NULL,
	"device" text NOT NULL,
	"state" text DEFAULT 'idle' NOT NULL,
	"item_id" integer,
	"started_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"busy_since" timestamp with time zone,
	"items_done" integer DEFAULT 0 NOT NULL,
	"busy_ms" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "session_queue" ADD COLUMN "worker_id" text;--> statement-breakpoint
ALTER TABLE "session_queue" ADD COLUMN "device" text;--> statement-breakpoint
ALTER TABLE "session_queue" ADD COLUMN "lease_expires_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "channel_log_created_at_idx" ON "channel_log" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "login_failures_key_idx" ON "login_failures" USING btree ("key","failed_at");--> statement-breakpoint
CREATE INDEX "login_failures_at_idx" ON "login_failures" USING btree ("failed_at");--> statement-breakpoint
CREATE INDEX "sse_tickets_expires_at_idx" ON "sse_tickets" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "session_queue_lease_idx" ON "session_queue" USING btree ("lease_expires_at") WHERE "session_queue"."status" = 'in_progress';