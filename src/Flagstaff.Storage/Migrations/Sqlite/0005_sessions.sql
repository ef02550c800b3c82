-- SQLite: sign-in sessions kept by the server, so that signing out, a password change or a member
-- being disabled or removed ends a session at once on every node, and a session has an absolute end.
-- The id is stored only as a keyed hash: the cookie carries the id itself.
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions(account_id);
