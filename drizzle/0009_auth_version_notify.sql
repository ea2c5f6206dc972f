-- Hand-written: a bump of auth_version also notifies `easel_auth_version` (delivered at commit, only if the
-- transaction commits). On PGlite the identity cache takes that notification instead of reading the version
-- on every request: PGlite delivers it inside the committing query, in the one process that has the
-- database (docs/adr/0008-identity-cache-with-a-database-version.md). PostgreSQL's processes still read the
-- version, as before: a notification from another process can come after the next request.
CREATE OR REPLACE FUNCTION "auth_version_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "auth_version" SET "version" = "version" + 1 WHERE "id" = 1;
  PERFORM pg_notify('easel_auth_version', '');
  RETURN NULL;
END $$;
