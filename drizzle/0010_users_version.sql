ALTER TABLE "auth_version" ADD COLUMN "users_version" bigint DEFAULT 0 NOT NULL;
--> statement-breakpoint
-- Hand-written (drizzle-kit has no triggers). Every statement that writes `users` (any column: a display
-- name, a login's `last_login_at`) also bumps `users_version`, in its transaction, so it commits with the
-- write: on PostgreSQL the identity cache keeps the profiles `GET /auth/me` shows and checks them against
-- this version, read by a query sent after the request came, as it checks token states against `version`
-- (docs/adr/0008-identity-cache-with-a-database-version.md, 5). The notification stays for PGlite.
CREATE OR REPLACE FUNCTION "users_changed_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "auth_version" SET "users_version" = "users_version" + 1 WHERE "id" = 1;
  PERFORM pg_notify('easel_users_changed', '');
  RETURN NULL;
END $$;
