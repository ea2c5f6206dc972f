CREATE TABLE "reads_version" (
	"slot" smallint PRIMARY KEY NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
INSERT INTO "reads_version" ("slot") SELECT generate_series(0, 63);
--> statement-breakpoint
-- Hand-written (drizzle-kit has no triggers). Migration 0011's function, which migration 0012 also runs for
-- `images`: in PGlite's session (`easel.notify_queue_changes` on) it notifies as before; in every other
-- session it now adds one to a slot of `reads_version`, once per transaction, so that the sum of the slots
-- grows with each commit that writes the queue, the images or the queue's state, and with nothing else.
-- Processes on PostgreSQL keep reads against that sum, read after the request came
-- (docs/adr/0008-identity-cache-with-a-database-version.md, 7). The slot is one no other open transaction
-- holds (`SKIP LOCKED`, starting from one chosen by the backend's pid), so committing writers never wait on
-- each other's bump, and a transaction that already holds a slot never waits on another one's; only when all
-- sixty-four are held does a transaction wait for its own.
CREATE OR REPLACE FUNCTION "session_queue_changed_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  tx text := txid_current()::text;
  picked smallint;
BEGIN
  IF current_setting('easel.notify_queue_changes', true) = 'on' THEN
    PERFORM pg_notify('easel_queue_changed', '');
  ELSIF current_setting('easel.reads_bumped', true) IS DISTINCT FROM tx THEN
    SELECT "slot" INTO picked FROM "reads_version" WHERE "slot" >= pg_backend_pid() % 64
      ORDER BY "slot" LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF picked IS NULL THEN
      SELECT "slot" INTO picked FROM "reads_version" ORDER BY "slot" LIMIT 1 FOR UPDATE SKIP LOCKED;
    END IF;
    UPDATE "reads_version" SET "version" = "version" + 1
      WHERE "slot" = coalesce(picked, pg_backend_pid() % 64);
    PERFORM set_config('easel.reads_bumped', tx, true);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "queue_state_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "queue_state"
  FOR EACH STATEMENT EXECUTE FUNCTION "session_queue_changed_notify"();
