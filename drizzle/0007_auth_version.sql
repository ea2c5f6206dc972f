CREATE TABLE "auth_version" (
	"id" integer PRIMARY KEY NOT NULL,
	"version" bigint NOT NULL
);
--> statement-breakpoint
INSERT INTO "auth_version" ("id", "version") VALUES (1, 0);
--> statement-breakpoint
-- Hand-written (drizzle-kit has no triggers): every change a token check reads bumps auth_version in the
-- same transaction, so a process that reads a version reads every revocation committed before it
-- (docs/adr/0008-identity-cache-with-a-database-version.md).
CREATE FUNCTION "auth_version_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "auth_version" SET "version" = "version" + 1 WHERE "id" = 1;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "revoked_tokens_auth_version" AFTER INSERT OR UPDATE OR TRUNCATE ON "revoked_tokens"
  FOR EACH STATEMENT EXECUTE FUNCTION "auth_version_bump"();
--> statement-breakpoint
CREATE TRIGGER "users_auth_version_update" AFTER UPDATE ON "users" FOR EACH ROW
  WHEN (OLD."epoch" IS DISTINCT FROM NEW."epoch" OR OLD."is_active" IS DISTINCT FROM NEW."is_active"
    OR OLD."is_admin" IS DISTINCT FROM NEW."is_admin" OR OLD."email" IS DISTINCT FROM NEW."email"
    OR OLD."user_id" IS DISTINCT FROM NEW."user_id")
  EXECUTE FUNCTION "auth_version_bump"();
--> statement-breakpoint
CREATE TRIGGER "users_auth_version_delete" AFTER DELETE OR TRUNCATE ON "users"
  FOR EACH STATEMENT EXECUTE FUNCTION "auth_version_bump"();
