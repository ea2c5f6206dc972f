DROP INDEX "session_queue_list_idx";--> statement-breakpoint
DROP INDEX "session_queue_pending_idx";--> statement-breakpoint
DROP INDEX "session_queue_user_pending_idx";--> statement-breakpoint
CREATE INDEX "session_queue_list_idx" ON "session_queue" USING btree ("queue_id","priority" DESC NULLS FIRST,"item_id");--> statement-breakpoint
CREATE INDEX "session_queue_pending_idx" ON "session_queue" USING btree ("queue_id","priority" DESC NULLS FIRST,"item_id") WHERE "session_queue"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "session_queue_user_pending_idx" ON "session_queue" USING btree ("queue_id","user_id","priority" DESC NULLS FIRST,"item_id") WHERE "session_queue"."status" = 'pending';