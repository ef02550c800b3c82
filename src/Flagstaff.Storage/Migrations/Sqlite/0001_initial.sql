-- SQLite: the initial schema. Times are milliseconds since the Unix epoch; booleans are 0 or 1;
-- nested structures (rules, variations, lists) are JSON text.

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL,
  email_normalized TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  password_hash TEXT,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  disabled_at BIGINT
);

CREATE TABLE access_tokens (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  expires_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX access_tokens_account ON access_tokens(account_id);

CREATE TABLE projects (
  id TEXT PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  description TEXT,
  stickiness_property TEXT NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  archived_at BIGINT
);

CREATE TABLE environments (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  name TEXT NOT NULL,
  color TEXT NOT NULL,
  position BIGINT NOT NULL,
  critical BIGINT NOT NULL,
  version BIGINT NOT NULL,
  config_version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (project_id, key)
);

CREATE TABLE flags (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  kind TEXT NOT NULL,
  value_type TEXT NOT NULL,
  tags TEXT NOT NULL,
  variations TEXT NOT NULL,
  seed BIGINT NOT NULL,
  version BIGINT NOT NULL,
  revision BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  archived_at BIGINT,
  UNIQUE (project_id, key)
);
CREATE INDEX flags_project_name ON flags(project_id, name);

CREATE TABLE targetings (
  flag_id TEXT NOT NULL REFERENCES flags(id) ON DELETE CASCADE,
  environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  enabled BIGINT NOT NULL,
  rules TEXT NOT NULL,
  default_serve TEXT NOT NULL,
  version BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (flag_id, environment_id)
);
CREATE INDEX targetings_environment ON targetings(environment_id);

CREATE TABLE segments (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  clauses TEXT NOT NULL,
  id_property TEXT,
  ids TEXT NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (project_id, key)
);

CREATE TABLE context_properties (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  type TEXT NOT NULL,
  options TEXT NOT NULL,
  hidden BIGINT NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (project_id, key)
);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT,
  last_used_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX api_keys_environment ON api_keys(environment_id);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at BIGINT NOT NULL,
  actor_id TEXT,
  actor_name TEXT NOT NULL,
  actor_address TEXT,
  project_id TEXT,
  environment_id TEXT,
  flag_id TEXT,
  resource_type TEXT NOT NULL,
  resource_key TEXT NOT NULL,
  action TEXT NOT NULL,
  revision BIGINT,
  before_state TEXT,
  after_state TEXT,
  comment TEXT
);
CREATE INDEX audit_log_project ON audit_log(project_id, id);
CREATE INDEX audit_log_flag ON audit_log(flag_id, revision);
CREATE INDEX audit_log_actor ON audit_log(actor_id, id);
CREATE INDEX audit_log_at ON audit_log(at);

CREATE TABLE config_changes (
  environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  version BIGINT NOT NULL,
  changed TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (environment_id, version)
);

CREATE TABLE data_protection_keys (
  id TEXT PRIMARY KEY,
  xml TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
