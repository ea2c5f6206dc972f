-- Hand-written (drizzle-kit has no triggers). Every statement that writes `images` notifies
-- `easel_queue_changed` too, through migration 0011's function (so only in sessions with
-- `easel.notify_queue_changes` on: PGlite's one session). The channel names the reads PGlite keeps until a
-- write commits (src/queue/counts-cache.ts): queue counts, the first page of the queue, and now the first
-- page of a gallery (`GET /images`).
CREATE TRIGGER "images_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "images"
  FOR EACH STATEMENT EXECUTE FUNCTION "session_queue_changed_notify"();
