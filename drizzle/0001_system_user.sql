-- The built-in owner of anonymous and single-user work. It cannot log in ('!' is no valid hash),
-- is hidden from GET /users, and cannot be changed or deleted.
INSERT INTO "users" ("user_id", "email", "display_name", "password_hash", "is_admin", "is_active")
VALUES ('system', 'system', 'System', '!', false, true)
ON CONFLICT DO NOTHING;
