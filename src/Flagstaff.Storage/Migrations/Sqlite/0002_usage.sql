-- SQLite: usage reported by SDKs (evaluations per flag, value and client, per minute) and the
-- context properties and values they saw.
CREATE TABLE usage_counts (
  environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  flag_key TEXT NOT NULL,
  minute BIGINT NOT NULL,
  value TEXT NOT NULL,
  client TEXT NOT NULL,
  count BIGINT NOT NULL,
  PRIMARY KEY (environment_id, flag_key, minute, value, client)
);
CREATE INDEX usage_counts_minute ON usage_counts(minute);

CREATE TABLE context_values (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  property TEXT NOT NULL,
  value TEXT NOT NULL,
  label TEXT,
  last_seen BIGINT NOT NULL,
  PRIMARY KEY (project_id, property, value)
);

ALTER TABLE context_properties ADD COLUMN first_seen BIGINT;
ALTER TABLE context_properties ADD COLUMN last_seen BIGINT;
