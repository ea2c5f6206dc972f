ALTER TABLE "revoked_tokens" RENAME TO "revoked_sessions";--> statement-breakpoint
ALTER TABLE "revoked_sessions" RENAME COLUMN "jti" TO "sid";--> statement-breakpoint
DROP INDEX "revoked_tokens_expires_at_idx";--> statement-breakpoint
CREATE INDEX "revoked_sessions_expires_at_idx" ON "revoked_sessions" USING btree ("expires_at");--> statement-breakpoint
-- Hand-written: the names that came with the table. Its trigger (migration 0007) moved with it, so a logout
-- still bumps auth_version. The rows kept are token ids logged out before sessions existed: such a token is
-- a session of its own whose sid is its jti (docs/adr/0008-identity-cache-with-a-database-version.md).
ALTER TRIGGER "revoked_tokens_auth_version" ON "revoked_sessions" RENAME TO "revoked_sessions_auth_version";
--> statement-breakpoint
ALTER TABLE "revoked_sessions" RENAME CONSTRAINT "revoked_tokens_pkey" TO "revoked_sessions_pkey";
