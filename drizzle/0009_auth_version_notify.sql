-- Hand-written (drizzle-kit has no triggers). A bump of auth_version also notifies `easel_auth_version`, and
-- every statement that writes `users` notifies `easel_users_changed` (each delivered at commit, only if
-- the transaction commits). On PGlite the identity cache takes these notifications instead of reading the
-- version on every request and the user row on every `GET /auth/me`: PGlite delivers them inside the
-- query that commits, in the one process that has the database
-- (docs/adr/0008-identity-cache-with-a-database-version.md, 4). PostgreSQL's processes still read, as
-- before: a notification from another process can come after the next request.
CREATE OR REPLACE FUNCTION "auth_version_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "auth_version" SET "version" = "version" + 1 WHERE "id" = 1;
  PERFORM pg_notify('easel_auth_version', '');
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "users_changed_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('easel_users_changed', '');
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "users_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "users"
  FOR EACH STATEMENT EXECUTE FUNCTION "users_changed_notify"();
