-- Hand-written (drizzle-kit has no triggers). Every statement that writes `session_queue` notifies
-- `easel_queue_changed` (delivered at commit, only if the transaction commits) when the session has
-- `easel.notify_queue_changes` on. Only PGlite's one session turns it on: there, the notification reaches
-- the one process inside the query that commits, and `GET …/status` keeps its counts until the next one
-- (src/queue/counts-cache.ts). PostgreSQL sessions leave it off and pay one function call per statement.
CREATE FUNCTION "session_queue_changed_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('easel.notify_queue_changes', true) = 'on' THEN
    PERFORM pg_notify('easel_queue_changed', '');
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "session_queue_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "session_queue"
  FOR EACH STATEMENT EXECUTE FUNCTION "session_queue_changed_notify"();
