CREATE TABLE "queue_user_turns" (
	"queue_id" text NOT NULL,
	"user_id" text NOT NULL,
	"last_started_at" timestamp with time zone NOT NULL,
	CONSTRAINT "queue_user_turns_queue_id_user_id_pk" PRIMARY KEY("queue_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "session_queue" (
	"item_id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "session_queue_item_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"queue_id" text NOT NULL,
	"batch_id" text NOT NULL,
	"session_id" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"priority" integer DEFAULT 0 NOT NULL,
	"field_values" jsonb,
	"session" jsonb NOT NULL,
	"workflow" jsonb,
	"origin" text,
	"destination" text,
	"error_type" text,
	"error_message" text,
	"error_traceback" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"user_id" text NOT NULL,
	"retried_from_item_id" integer,
	"interruptions" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX "session_queue_list_idx" ON "session_queue" USING btree ("queue_id","priority" DESC NULLS LAST,"item_id");--> statement-breakpoint
CREATE INDEX "session_queue_pending_idx" ON "session_queue" USING btree ("queue_id","priority" DESC NULLS LAST,"item_id") WHERE "session_queue"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "session_queue_user_pending_idx" ON "session_queue" USING btree ("queue_id","user_id","priority" DESC NULLS LAST,"item_id") WHERE "session_queue"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "session_queue_user_status_idx" ON "session_queue" USING btree ("queue_id","user_id","status");--> statement-breakpoint
CREATE INDEX "session_queue_status_idx" ON "session_queue" USING btree ("queue_id","status");--> statement-breakpoint
CREATE INDEX "session_queue_batch_idx" ON "session_queue" USING btree ("queue_id","batch_id");